package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// TestCLIAndLibrarySameOutcome: for each kind of failure, against a real
// peer, the command line (`send --queue --json`) and a library user
// (submit.Deliverer with a zero Connector, through an outbox) reach the
// same verdict: the same retry class (the CLI's exit 75 and "queued" when
// the library's outbox outcome is Temporary; "failed" when Permanent), and
// the same error kind (the CLI's JSON error.kind is the library error's
// kind as the CLI classifies it).
func TestCLIAndLibrarySameOutcome(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			switch {
			case strings.HasPrefix(to, "nobody@"):
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "No such user"}
			case strings.HasPrefix(to, "later@"):
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Try again later"}
			}
			return nil
		}
	})
	greeting554 := rawGreetingServer(t, "554 5.3.2 not accepting mail\r\n")
	host, _, _ := net.SplitHostPort(srv.SMTPAddr())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now: connections are refused

	// A TLS alert in the middle of the message's data, after STARTTLS.
	root, err := testpki.NewRoot(testpki.Options{CommonName: "Outcome Alert Root"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, IPAddresses: testpki.LoopbackIPs()})
	if err != nil {
		t.Fatal(err)
	}
	alertCA := writeFile(t, "alert-ca.pem", testpki.CertsPEM(root.Cert), 0o644)
	var dataSeen atomic.Int32
	alert := alertServer(t, false, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}, &dataSeen)
	// A server that offers no STARTTLS: the client must not go on in
	// plain text.
	noSTARTTLS := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		fmt.Fprintf(c, "220 mx.example.org ESMTP\r\n")
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				fmt.Fprintf(c, "250-mx.example.org\r\n250 PIPELINING\r\n")
			case cmd == "QUIT":
				fmt.Fprintf(c, "221 2.0.0 bye\r\n")
				return
			default:
				fmt.Fprintf(c, "502 5.5.2 not implemented\r\n")
			}
		}
	})
	greeting421 := rawGreetingServer(t, "421 4.3.2 service shutting down\r\n")

	type side struct {
		addr       string
		ca         bool
		caFile     string // another CA than the embedded server's
		tlsName    string // "" means localhost
		revocation string
		user       bool
		password   string
		to         string
	}
	tests := []struct {
		name    string
		s       side
		outcome outbox.Outcome
		code    int
		kind    string
		problem string // a trust problem kind the CLI's error must list
	}{
		{"recipient refused (550)", side{addr: srv.SMTPAddr(), ca: true, user: true, password: testPassword, to: "nobody@example.org"}, outbox.Permanent, exitRejected, "rejected", ""},
		{"recipient deferred (451)", side{addr: srv.SMTPAddr(), ca: true, user: true, password: testPassword, to: "later@example.org"}, outbox.Temporary, exitTempFail, "rejected", ""},
		{"login refused (535)", side{addr: srv.SMTPAddr(), ca: true, user: true, password: "wrong", to: "bob@example.org"}, outbox.Temporary, exitTempFail, "auth", ""},
		{"untrusted certificate", side{addr: srv.SMTPAddr(), to: "bob@example.org"}, outbox.Temporary, exitTempFail, "certificate", ""},
		{"connection refused", side{addr: net.JoinHostPort(host, strconv.Itoa(closed)), to: "bob@example.org"}, outbox.Temporary, exitTempFail, "network", ""},
		{"greeting 554", side{addr: greeting554, to: "bob@example.org"}, outbox.Permanent, exitUnavailable, "unavailable", ""},
		{"no login, MAIL refused (530)", side{addr: srv.SMTPAddr(), ca: true, to: "bob@example.org"}, outbox.Temporary, exitTempFail, "auth", ""},
		{"greeting 421", side{addr: greeting421, to: "bob@example.org"}, outbox.Temporary, exitTempFail, "unavailable", ""},
		{"STARTTLS not offered", side{addr: noSTARTTLS, to: "bob@example.org"}, outbox.Temporary, exitTempFail, "starttls-unavailable", ""},
		{"certificate name mismatch", side{addr: srv.SMTPAddr(), ca: true, tlsName: "wrong.example.net", to: "bob@example.org"}, outbox.Temporary, exitTempFail, "certificate", "name-mismatch"},
		{"revocation strict, status unknown", side{addr: srv.SMTPAddr(), ca: true, revocation: "strict", to: "bob@example.org"}, outbox.Temporary, exitTempFail, "certificate", "revocation-unknown"},
		{"TLS alert in the data", side{addr: alert, caFile: alertCA, to: "bob@example.org"}, outbox.Temporary, exitTempFail, "network", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The command line.
			tlsName := tc.s.tlsName
			if tlsName == "" {
				tlsName = "localhost"
			}
			caFile := tc.s.caFile
			if tc.s.ca {
				caFile = srv.CAFile()
			}
			args := []string{"send", "--queue", "--json", "--queue-dir", filepath.Join(t.TempDir(), "q"), "--server", tc.s.addr,
				"--tls", "starttls", "--tls-name", tlsName, "--timeout", "10s",
				"--from", "ann@example.org", "--to", tc.s.to, "--subject", "s", "--body", "b"}
			env := []string{}
			if caFile != "" {
				args = append(args, "--ca", caFile)
			}
			if tc.s.revocation != "" {
				args = append(args, "--revocation", tc.s.revocation)
			}
			if tc.s.user {
				args = append(args, "--user", testUser, "--password-env", passwordVar)
				env = append(env, passwordVar+"="+tc.s.password)
			}
			r := cli{args: args, env: env}.run(t)
			var j struct {
				Queued bool `json:"queued"`
				Failed bool `json:"failed"`
				Error  struct {
					Kind     string `json:"kind"`
					Problems []struct {
						Kind string `json:"kind"`
					} `json:"problems"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
				t.Fatalf("no JSON object: %v\n%s", err, r)
			}

			if tc.problem != "" && !slices.ContainsFunc(j.Error.Problems, func(p struct {
				Kind string `json:"kind"`
			}) bool {
				return p.Kind == tc.problem
			}) {
				t.Errorf("CLI: error.problems lack %s:\n%s", tc.problem, r)
			}
			if tc.s.addr == alert && dataSeen.Load() != 1 {
				t.Fatalf("the CLI never reached DATA (%d): %s", dataSeen.Load(), r)
			}

			// The library.
			h, ps, _ := net.SplitHostPort(tc.s.addr)
			pn, _ := strconv.Atoi(ps)
			a := &submit.Account{Host: h, Port: pn, Mode: smtp.StartTLS, Timeout: 10 * time.Second,
				Trust: submit.Trust{ServerName: tlsName, CAFile: caFile, Revocation: trust.RevocationMode(tc.s.revocation)}}
			if tc.s.user {
				a.Auth = submit.Auth{Mechanism: "AUTO", User: testUser, Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: passwordVar}}
			}
			q, err := outbox.Open(filepath.Join(t.TempDir(), "lq"), outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := submit.Enqueue(context.Background(), q, a, outbox.Envelope{From: "ann@example.org", To: []string{tc.s.to}},
				strings.NewReader("Subject: s\r\n\r\nb\r\n")); err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string {
				if k == passwordVar {
					return tc.s.password
				}
				return ""
			}
			d := &submit.Deliverer{Connect: (&submit.Connector{Getenv: getenv}).Plan}
			var got outbox.Result
			var st outbox.Stats
			// Busy: the item's lock was still held by a copy of its file
			// descriptor in a process forked (for another test's tlsmail)
			// before exec closed it; a later run finds it free. Bounded
			// in time, not in tries: a loaded machine may take a while
			// to reach that exec.
			for deadline := time.Now().Add(time.Minute); ; {
				if st, err = q.Run(context.Background(), outbox.RunConfig{Deliver: d.Deliver,
					OnResult: func(it *outbox.Item, res outbox.Result) { got = res }}); err != nil {
					t.Fatal(err)
				}
				if st.Busy == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got.Err == nil {
				t.Fatalf("library: outcome %v without an error (run %+v); want %v", got.Outcome, st, tc.outcome)
			}

			if tc.s.addr == alert && dataSeen.Load() != 2 {
				t.Fatalf("the library never reached DATA: %v", got.Err)
			}
			libKind := classify(got.Err).kind
			if got.Outcome != tc.outcome || libKind != tc.kind {
				t.Errorf("library: outcome %v, kind %s (%v); want %v, %s", got.Outcome, libKind, got.Err, tc.outcome, tc.kind)
			}
			if r.code != tc.code || j.Error.Kind != tc.kind {
				t.Errorf("CLI: exit %d, kind %s; want %d, %s\n%s", r.code, j.Error.Kind, tc.code, tc.kind, r)
			}
			if (got.Outcome == outbox.Temporary) != (r.code == exitTempFail && j.Queued) || (got.Outcome == outbox.Permanent) != j.Failed {
				t.Errorf("retry class differs: library %v, CLI exit %d queued %v failed %v", got.Outcome, r.code, j.Queued, j.Failed)
			}
			var se *smtp.Error
			if errors.As(got.Err, &se) && string(se.Kind) != j.Error.Kind && j.Error.Kind != "certificate" {
				t.Errorf("library error kind %s, CLI kind %s", se.Kind, j.Error.Kind)
			}
		})
	}
}

// rawGreetingServer accepts connections and answers each with greeting,
// then closes it.
func rawGreetingServer(t *testing.T, greeting string) string {
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
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte(greeting))
				buf := make([]byte, 512)
				c.Read(buf) // QUIT, or nothing
			}()
		}
	}()
	return ln.Addr().String()
}

// TestClassifySubmitError: an account the library refuses (a queued item
// whose settings cannot be read, an unknown provider) is a configuration
// error to the command line (78), not an internal one.
func TestClassifySubmitError(t *testing.T) {
	f := classify(&submit.Error{Field: "account", Msg: "cannot read the queued item's settings", Fix: "remove the item"})
	if f.code != exitConfig || f.kind != kindConfig || f.fix != "remove the item" {
		t.Errorf("classify(*submit.Error) = exit %d, kind %s, fix %q; want %d, %s, the error's fix", f.code, f.kind, f.fix, exitConfig, kindConfig)
	}
}
