package main

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// TestClassify checks the error → exit code and JSON kind table in
// process, for errors that are hard to provoke from outside.
func TestClassify(t *testing.T) {
	t.Parallel()
	reply := func(code int) *smtp.Reply { return &smtp.Reply{Code: code} }
	notFound := &net.OpError{Op: "dial", Err: &net.DNSError{Name: "x.invalid", IsNotFound: true}}
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantKind string
	}{
		{"usage", usageErrorf("x"), exitUsage, "usage"},
		{"config", configErrorf("x"), exitConfig, "config"},
		{"message input", &message.InputError{Field: "subject", Problem: "CR"}, exitUsage, "usage"},
		{"message source", &message.SourceError{Source: "f", Err: errors.New("gone")}, exitUsage, "usage"},
		{"host not found", &smtp.Error{Kind: smtp.KindNetwork, Err: notFound}, exitNoHost, "network"},
		{"connection refused", &smtp.Error{Kind: smtp.KindNetwork, Err: errors.New("refused")}, exitTempFail, "network"},
		{"timeout", &smtp.Error{Kind: smtp.KindTimeout}, exitTempFail, "timeout"},
		{"handshake", &smtp.Error{Kind: smtp.KindTLSHandshake}, exitTempFail, "tls-handshake"},
		{"certificate", &smtp.Error{Kind: smtp.KindCertificate, Err: &trust.Error{}}, exitTempFail, "certificate"},
		{"bare trust error", &trust.Error{}, exitTempFail, "certificate"},
		{"starttls unavailable", &smtp.Error{Kind: smtp.KindStartTLSUnavailable}, exitTempFail, "starttls-unavailable"},
		{"starttls injection", &smtp.Error{Kind: smtp.KindStartTLSInjection}, exitProtocol, "starttls-injection"},
		{"protocol", &smtp.Error{Kind: smtp.KindProtocol}, exitProtocol, "protocol"},
		{"auth 535", &smtp.Error{Kind: smtp.KindAuth, Reply: reply(535)}, exitNoPerm, "auth"},
		{"auth 454 is temporary", &smtp.Error{Kind: smtp.KindAuth, Reply: reply(454)}, exitTempFail, "auth"},
		{"rejected 550", &smtp.Error{Kind: smtp.KindRejected, Reply: reply(550)}, exitRejected, "rejected"},
		{"rejected 451", &smtp.Error{Kind: smtp.KindRejected, Reply: reply(451)}, exitTempFail, "rejected"},
		{"rejected without reply (too big)", &smtp.Error{Kind: smtp.KindRejected}, exitRejected, "rejected"},
		{"unavailable 554", &smtp.Error{Kind: smtp.KindUnavailable, Reply: reply(554)}, exitUnavailable, "unavailable"},
		{"unavailable 421", &smtp.Error{Kind: smtp.KindUnavailable, Reply: reply(421)}, exitTempFail, "unavailable"},
		{"smtp usage", &smtp.Error{Kind: smtp.KindUsage}, exitUsage, "usage"},
		{"smtp config", &smtp.Error{Kind: smtp.KindConfig}, exitConfig, "config"},
		{"server listen", &server.Error{Op: "listen"}, exitUnavailable, "unavailable"},
		{"server config", &server.Error{Op: "config"}, exitConfig, "config"},
		{"reported wraps", &reported{&smtp.Error{Kind: smtp.KindAuth, Reply: reply(535)}}, exitNoPerm, "auth"},
		{"unknown", errors.New("surprise"), exitSoftware, "internal"},
	}
	for _, tc := range tests {
		f := classify(tc.err)
		if f.code != tc.wantCode || f.kind != tc.wantKind {
			t.Errorf("%s: classify = (%d, %q), want (%d, %q)", tc.name, f.code, f.kind, tc.wantCode, tc.wantKind)
		}
	}
}

// TestUsageErrorsBeforeConnecting: every usage error exits 64 with a fix,
// and none of them opens a connection.
func TestUsageErrorsBeforeConnecting(t *testing.T) {
	t.Parallel()
	cl := newCountingListener(t)
	msgFile := writeFile(t, "m.eml", []byte("From: a@example.com\r\nTo: b@example.org\r\n\r\nbody\r\n"), 0o644)
	base := []string{"send", "--server", cl.addr(), "--from", "ann@example.com"}
	tests := []struct {
		name string
		args []string
		want string // in the error message or fix
	}{
		{"missing --to", []string{"--subject", "s", "--body", "b"}, "--to"},
		{"missing --from", []string{"send", "--server", cl.addr(), "--to", "b@example.org"}, "--from"},
		{"missing --server", []string{"send", "--from", "a@example.com", "--to", "b@example.org"}, "--server"},
		{"CR in subject", []string{"--to", "b@example.org", "--subject", "hi\r\nBcc: victim@example.net", "--body", "b"}, "subject"},
		{"LF in subject", []string{"--to", "b@example.org", "--subject", "hi\nX: y", "--body", "b"}, "line feed"},
		{"CRLF in --to", []string{"--to", "b@example.org\r\nRCPT TO:<x@example.net>", "--body", "b"}, "to"},
		{"CRLF in --from", []string{"send", "--server", cl.addr(), "--from", "a@example.com\r\nX: y", "--to", "b@example.org"}, "from"},
		{"CRLF in --header", []string{"--to", "b@example.org", "--header", "X-A: 1\r\nBcc: v@example.net", "--body", "b"}, "header"},
		{"header without colon", []string{"--to", "b@example.org", "--header", "NoColon", "--body", "b"}, "Name: value"},
		{"--body and --message", []string{"--to", "b@example.org", "--body", "b", "--message", msgFile}, "--message"},
		{"--body and --body-file", []string{"--to", "b@example.org", "--body", "b", "--body-file", msgFile}, "--body-file"},
		{"unknown flag", []string{"--to", "b@example.org", "--frobnicate"}, "unknown flag"},
		{"bad --tls", []string{"--to", "b@example.org", "--tls", "sometimes"}, "implicit, starttls or none"},
		{"bad --auth", []string{"--to", "b@example.org", "--user", "u", "--password-env", "X", "--auth", "MAGIC"}, "SCRAM-SHA-256"},
		{"bad --pin", []string{"--to", "b@example.org", "--pin", "md5/abc"}, "sha256/"},
		{"bad --timeout", []string{"--to", "b@example.org", "--timeout", "soon"}, "invalid argument"},
		{"bad --server port", []string{"send", "--server", "127.0.0.1:99999", "--from", "a@example.com", "--to", "b@example.org"}, "port"},
		{"unknown --tls-provider", []string{"--to", "b@example.org", "--tls-provider", "openssl"}, "this build offers: go"},
		{"plaintext password not asked for", []string{"--to", "b@example.org", "--tls", "none", "--user", "u", "--password-env", "X"}, "--auth"},
		{"password without --user", []string{"--to", "b@example.org", "--password-env", "X"}, "--user"},
		{"unknown command", []string{"sned"}, "unknown command"},
	}
	for _, tc := range tests {
		args := tc.args
		if args[0] != "send" && args[0] != "sned" {
			args = append(append([]string{}, base...), args...)
		}
		r := cli{args: args, env: []string{"X=secret"}}.run(t)
		if r.code != exitUsage {
			t.Errorf("%s: exit %d, want 64\n%s", tc.name, r.code, r)
			continue
		}
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.name, tc.want, r)
		}
		if !strings.Contains(r.stderr, "fix: ") {
			t.Errorf("%s: no fix given:\n%s", tc.name, r)
		}
		// The same with --json: one object on stdout, kind usage.
		r = cli{args: append(args, "--json"), env: []string{"X=secret"}}.run(t)
		if tc.name == "unknown command" {
			continue
		}
		if r.code != exitUsage {
			t.Errorf("%s --json: exit %d, want 64\n%s", tc.name, r.code, r)
			continue
		}
		j := decodeJSON(t, r)
		if e, _ := j["error"].(map[string]any); e == nil || e["kind"] != "usage" || j["ok"] != false {
			t.Errorf("%s --json: %s", tc.name, r.stdout)
		}
	}
	if n := cl.strays(t); n != 0 {
		t.Errorf("usage errors opened %d connection(s)", n)
	}
}

// TestExitCodes provokes each failure class that can be produced on
// loopback and checks the exit code and the JSON error kind.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectMail = func(from string) *server.Reply {
			if strings.HasPrefix(from, "later@") {
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "try again later"}
			}
			return nil
		}
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		}
		c.RejectData = func(env server.Envelope) *server.Reply {
			if strings.HasPrefix(env.From, "spam@") {
				return &server.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "message refused"}
			}
			return nil
		}
	})
	noTLS := startServer(t, func(c *server.Config) { c.DisableSTARTTLS = true; c.SMTPSAddr = ""; c.Users = nil })
	closedPort := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	refusing := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		fmt.Fprintf(c, "554 5.3.2 no service for you\r\n")
		br.ReadString('\n')
	})
	injecting := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		fmt.Fprintf(c, "220 raw ESMTP\r\n")
		br.ReadString('\n') // EHLO
		fmt.Fprintf(c, "250-raw\r\n250 STARTTLS\r\n")
		br.ReadString('\n') // STARTTLS
		// The reply and an injected one in the same segment: the
		// CVE-2011-0411 pattern.
		fmt.Fprintf(c, "220 go ahead\r\n250 injected\r\n")
		br.ReadString('\n')
	})
	garbage := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		br.ReadString('\n')
	})
	missing := writeFile(t, "cfg", []byte("account default\nhost example.com\n"), 0o600)

	send := func(addr string, extra ...string) []string { return baseSend(addr, srv.CAFile(), extra...) }
	plain := func(addr string, extra ...string) []string {
		return append([]string{"send", "--server", addr, "--from", "ann@example.com", "--to", "bob@example.org",
			"--subject", "s", "--body", "b", "--timeout", "30s"}, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantKind string
		wantText string // in the JSON error message or fix
		problems bool   // error.problems must not be empty
	}{
		{"host not found", plain("no-such-host.invalid"), exitNoHost, "network", "does not resolve", false},
		{"connection refused", plain(closedPort), exitTempFail, "network", "", false},
		{"all recipients rejected", []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(), "--user", testUser, "--password-env", passwordVar,
			"--from", "ann@example.com", "--to", "nobody@example.net", "--cc", "nobody@example.com", "--body", "b"}, exitRejected, "rejected", "550", false},
		{"data rejected", send(srv.SMTPAddr(), "--from", "spam@example.com"), exitRejected, "rejected", "554", false},
		{"mail 451 temporary", send(srv.SMTPAddr(), "--from", "later@example.com"), exitTempFail, "rejected", "451", false},
		{"wrong password", send(srv.SMTPAddr(), "--password-cmd", "echo wrong", "--password-env", ""), exitNoPerm, "auth", "535", false},
		{"untrusted CA (no --ca)", plain(srv.SMTPAddr()), exitTempFail, "certificate", "trusted roots", true},
		{"name mismatch", send(srv.SMTPSAddr(), "--tls", "implicit", "--tls-name", "mail.example.com"), exitTempFail, "certificate", "mail.example.com", true},
		{"wrong pin", send(srv.SMTPAddr(), "--pin", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), exitTempFail, "certificate", "pin", true},
		{"starttls unavailable", plain(noTLS.SMTPAddr()), exitTempFail, "starttls-unavailable", "STARTTLS", false},
		{"STARTTLS to an implicit-TLS port", send(srv.SMTPSAddr(), "--tls", "starttls", "--timeout", "1s"), exitTempFail, "timeout", "--tls implicit", false},
		{"implicit TLS to a plain port", send(srv.SMTPAddr(), "--tls", "implicit"), exitTempFail, "tls-handshake", "", false},
		{"greeting 554", plain(refusing), exitUnavailable, "unavailable", "554", false},
		{"starttls injection", plain(injecting), exitProtocol, "starttls-injection", "CVE-2011-0411", false},
		{"not SMTP", plain(garbage), exitProtocol, "protocol", "", false},
		{"--config without the account", plain(srv.SMTPAddr(), "--config", missing, "--account", "work"), exitConfig, "config", "account work not found", false},
		{"--ca missing", send(srv.SMTPAddr(), "--ca", missing+".nope"), exitConfig, "config", "--ca", false},
		{"--ca not PEM", send(srv.SMTPAddr(), "--ca", missing), exitConfig, "config", "PEM", false},
		{"--cert missing", send(srv.SMTPAddr(), "--cert", missing+".nope"), exitConfig, "config", "client certificate", false},
	}
	for _, tc := range tests {
		args := append(tc.args, "--json")
		r := cli{args: args, env: authEnv()}.run(t)
		if r.code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.wantCode, r)
			continue
		}
		j := decodeJSON(t, r)
		e, _ := j["error"].(map[string]any)
		if e == nil || j["ok"] != false {
			t.Errorf("%s: no error object: %s", tc.name, r.stdout)
			continue
		}
		if tc.wantKind != "" && e["kind"] != tc.wantKind {
			t.Errorf("%s: error.kind = %v, want %s\n%s", tc.name, e["kind"], tc.wantKind, r.stdout)
		}
		if e["exit_code"] != float64(tc.wantCode) {
			t.Errorf("%s: error.exit_code = %v", tc.name, e["exit_code"])
		}
		text, _ := e["message"].(string)
		fix, _ := e["fix"].(string)
		if !strings.Contains(text+" "+fix, tc.wantText) {
			t.Errorf("%s: error lacks %q: %s", tc.name, tc.wantText, r.stdout)
		}
		if fix == "" {
			t.Errorf("%s: error.fix is empty: %s", tc.name, r.stdout)
		}
		probs, _ := e["problems"].([]any)
		if tc.problems && len(probs) == 0 {
			t.Errorf("%s: error.problems is empty: %s", tc.name, r.stdout)
		}
		// Without --json, the human form goes to stderr, stdout stays
		// clean of errors.
		r2 := cli{args: tc.args, env: authEnv()}.run(t)
		if r2.code != tc.wantCode || !strings.Contains(r2.stderr, "fix: ") {
			t.Errorf("%s (human): exit %d, want %d, and a fix on stderr\n%s", tc.name, r2.code, tc.wantCode, r2)
		}
	}
	if ms, _ := srv.Messages(); len(ms) != 0 {
		t.Errorf("failed sends stored %d message(s)", len(ms))
	}
}

// skipData reads message data up to the end marker; false when the
// connection ends first.
func skipData(br *bufio.Reader) bool {
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		if l == ".\r\n" {
			return true
		}
	}
}

// rawServer runs a scripted, misbehaving SMTP server on loopback and
// returns its address. Every read is under a deadline.
func rawServer(t *testing.T, script func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				script(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestClientCertificate: --cert and --key present a client certificate
// that the server verifies and records; without it the handshake fails.
func TestClientCertificate(t *testing.T) {
	t.Parallel()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "client CA"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{CommonName: "ann client", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := testpki.KeyPEM(leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, "client.pem", testpki.CertsPEM(leaf.Chain...), 0o644)
	keyFile := writeFile(t, "client.key", keyPEM, 0o600)
	both := writeFile(t, "both.pem", append(testpki.CertsPEM(leaf.Chain...), keyPEM...), 0o600)
	srv := startServer(t, func(c *server.Config) {
		c.ClientCAs = root.Pool()
		c.RequireClientCert = true
		c.Users = nil
	})
	plain := []string{"send", "--server", srv.SMTPSAddr(), "--tls", "implicit", "--ca", srv.CAFile(),
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "cert", "--body", "b"}
	for i, extra := range [][]string{{"--cert", certFile, "--key", keyFile}, {"--cert", both}} {
		r := runTLSMail(t, append(append([]string{}, plain...), extra...)...)
		if r.code != 0 {
			t.Fatalf("%v: %s", extra, r)
		}
		m := waitMessages(t, srv, i+1)[i]
		if m.TLS == nil || !strings.Contains(m.TLS.ClientCertSubject, "ann client") {
			t.Errorf("%v: the server did not record the client certificate: %+v", extra, m.TLS)
		}
	}
	r := runTLSMail(t, plain...)
	if r.code != exitTempFail {
		t.Errorf("without a client certificate: exit %d, want 75\n%s", r.code, r)
	}
}
