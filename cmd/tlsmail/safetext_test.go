package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// Text a hostile server or certificate chooses: it clears the screen and
// forges a line of tlsmail's own. In a certificate or a go-smtp reply it
// can hold a LF; within one SMTP reply line it cannot (a LF ends the
// line), but a bare CR sends the terminal's cursor back to the start of
// the line, which forges a line just as well.
//
// Both end with a right-to-left override, which shows the text after it
// reversed ("gro.elpmaxe" as "example.org"), a zero-width space, a Hangul
// filler and a variation selector (both drawn as nothing).
const (
	hostileText = "evil\x1b[2J\r\n    fix: trust me\u202egro.elpmaxe\u200b\u3164\ufe0f"
	hostileWire = "evil\x1b[2J\r    fix: trust me\u202egro.elpmaxe\u200b\u3164\ufe0f"
	quotedText  = `evil\x1b[2J\x0d\x0a    fix: trust me\u202egro.elpmaxe\u200b\u3164\ufe0f`
	quotedWire  = `evil\x1b[2J\x0d    fix: trust me\u202egro.elpmaxe\u200b\u3164\ufe0f`
	// A DNS name in a certificate is ASCII (an IA5String).
	hostileSAN = "evil\x1b[2J\r\n    fix: trust me"
	quotedSAN  = `evil\x1b[2J\x0d\x0a    fix: trust me`
)

// checkSafeOutput fails when out holds a control character other than LF
// and TAB, an invisible format character (bidirectional controls,
// zero-width characters), or a line that the hostile text forged.
func checkSafeOutput(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) || unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			t.Errorf("%s holds control character %U:\n%s", what, r, out)
			break
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "fix: trust me") {
			t.Errorf("%s has a forged line %q:\n%s", what, l, out)
		}
	}
}

// lineWith returns the first line of out that starts with prefix and
// holds want, or fails.
func lineWith(t *testing.T, what, out, prefix, want string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) && strings.Contains(l, want) {
			return
		}
	}
	t.Errorf("%s has no line %q... holding %q:\n%s", what, prefix, want, out)
}

// hostileServer is a scripted SMTP server on loopback whose banner, EHLO
// lines and replies carry hostileWire, and whose certificate chain names
// carry hostileText. It offers STARTTLS on its plain listener and speaks
// implicit TLS on the other; it accepts any mail.
type hostileServer struct {
	plain, implicit string
	caFile          string
	tls             *tls.Config
	// deferFirst makes the first MAIL command of all sessions fail with a
	// 451 (the message stays queued).
	deferFirst bool
	mails      atomic.Int32
}

func startHostileServer(t *testing.T, deferFirst bool) *hostileServer {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "root " + hostileText})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{CommonName: "leaf " + hostileText,
		DNSNames: []string{"localhost", "san-" + hostileSAN}, IPAddresses: testpki.LoopbackIPs()})
	if err != nil {
		t.Fatal(err)
	}
	cert := leaf.TLSCertificate()
	s := &hostileServer{
		caFile:     writeFile(t, "ca.pem", testpki.CertsPEM(root.Cert), 0o644),
		tls:        &tls.Config{Certificates: []tls.Certificate{cert}},
		deferFirst: deferFirst,
	}
	s.plain = s.listen(t, false)
	s.implicit = s.listen(t, true)
	return s
}

func (s *hostileServer) listen(t *testing.T, implicit bool) string {
	t.Helper()
	return rawServer(t, func(c net.Conn, _ *bufio.Reader) { s.session(c, implicit) })
}

func (s *hostileServer) session(c net.Conn, secure bool) {
	if secure {
		c = tls.Server(c, s.tls)
	}
	br := bufio.NewReader(c)
	say := func(lines ...string) {
		for _, l := range lines {
			fmt.Fprintf(c, "%s\r\n", l)
		}
	}
	say("220 mx.example.org ESMTP " + hostileWire)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			ehlo := []string{"250-mx.example.org greets you " + hostileWire, "250-X-EVIL " + hostileWire, "250-SIZE 10240000"}
			if !secure {
				ehlo = append(ehlo, "250-STARTTLS")
			}
			say(append(ehlo, "250 8BITMIME")...)
		case cmd == "STARTTLS" && !secure:
			say("220 2.0.0 go ahead")
			c = tls.Server(c, s.tls)
			br = bufio.NewReader(c)
			secure = true
		case strings.HasPrefix(cmd, "MAIL"):
			if s.mails.Add(1) == 1 && s.deferFirst {
				say("451 4.3.0 try later " + hostileWire)
			} else {
				say("250 2.1.0 sender ok")
			}
		case strings.HasPrefix(cmd, "RCPT"):
			if strings.Contains(cmd, "NOBODY@") {
				say("550 5.1.1 no such user " + hostileWire)
			} else {
				say("250 2.1.5 recipient ok")
			}
		case cmd == "DATA":
			say("354 go ahead")
			if !skipData(br) {
				return
			}
			say("250 2.0.0 queued as 42 " + hostileWire)
		case cmd == "RSET" || cmd == "NOOP":
			say("250 2.0.0 ok")
		case cmd == "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.2 not implemented")
		}
	}
}

// TestSendQuotesServerText: the rejected and sent lines of `send` quote the
// server's replies, and the chain lines its certificate names.
func TestSendQuotesServerText(t *testing.T) {
	t.Parallel()
	srv := startHostileServer(t, false)
	r := runTLSMail(t, "send", "--server", srv.plain, "--ca", srv.caFile, "--from", "ann@example.com",
		"--to", "bob@example.org", "--to", "nobody@example.org", "--subject", "s", "--body", "b",
		"--timeout", "30s", "--transcript", "-")
	if r.code != 0 {
		t.Fatalf("want a partial delivery (exit 0): %s", r)
	}
	checkSafeOutput(t, "stdout", r.stdout)
	checkSafeOutput(t, "stderr (transcript)", r.stderr)
	lineWith(t, "stdout", r.stdout, "rejected: nobody@example.org: 550", "no such user "+quotedWire)
	lineWith(t, "stdout", r.stdout, "sent:", "queued as 42 "+quotedWire)
	lineWith(t, "stdout", r.stdout, "chain:", quotedText)
	lineWith(t, "stderr", r.stderr, "S:", quotedWire)
}

// TestProbeQuotesServerText: probe's banner and EHLO rows, before and
// after STARTTLS and over implicit TLS, quote the server's text; the
// certificate details quote the names.
func TestProbeQuotesServerText(t *testing.T) {
	t.Parallel()
	srv := startHostileServer(t, false)
	tests := []struct {
		mode, addr string
		rows       []string
	}{
		{"starttls", srv.plain, []string{"banner", "ehlo", "ehlo (tls)"}},
		{"implicit", srv.implicit, []string{"banner", "ehlo (tls)"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			r := runTLSMail(t, "probe", "--tls", tc.mode, "--ca", srv.caFile, "--timeout", "30s", tc.addr)
			if r.code != 0 {
				t.Fatalf("probe: %s", r)
			}
			checkSafeOutput(t, "stdout", r.stdout)
			checkSafeOutput(t, "stderr", r.stderr)
			for _, row := range tc.rows {
				lineWith(t, "stdout", r.stdout, row+" ", quotedWire)
			}
			lineWith(t, "stdout", r.stdout, "names", "san-"+quotedSAN)
			lineWith(t, "stdout", r.stdout, "issuer", "root "+quotedText)
		})
	}
}

// TestEmbeddedServerRepliesQuoted: replies of the embedded server (go-smtp
// splits a LF into a multi-line reply, keeps ESC and CR) reach the
// rejected line and the error printed for a refused message quoted.
func TestEmbeddedServerRepliesQuoted(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: hostileText}
			}
			return nil
		}
		c.RejectData = func(env server.Envelope) *server.Reply {
			if strings.HasPrefix(env.From, "spam@") {
				return &server.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: hostileText}
			}
			return nil
		}
	})
	r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--to", "nobody@example.org"), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("want a partial delivery: %s", r)
	}
	checkSafeOutput(t, "stdout", r.stdout)
	lineWith(t, "stdout", r.stdout, "rejected: nobody@example.org: 550", `evil\x1b[2J`)

	r = cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--from", "spam@example.com"), env: authEnv()}.run(t)
	if r.code != exitRejected {
		t.Fatalf("want exit %d: %s", exitRejected, r)
	}
	checkSafeOutput(t, "stderr", r.stderr)
	lineWith(t, "stderr", r.stderr, "tlsmail:", "554")
}

// TestQueueQuotesServerText: sendmail's deferral line, `queue list` (last
// error) and `queue flush` (the server's acceptance) quote the server.
func TestQueueQuotesServerText(t *testing.T) {
	t.Parallel()
	srv := startHostileServer(t, true)
	host, port, err := net.SplitHostPort(srv.plain)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "msmtprc", []byte(fmt.Sprintf("account default\nhost %s\nport %s\ntls on\ntls_starttls on\ntls_trust_file %s\nauth off\nfrom ann@example.com\ntimeout 30\n",
		host, port, srv.caFile)), 0o600)
	env := []string{"TLSMAIL_QUEUE_DIR=" + filepath.Join(t.TempDir(), "queue")}

	r := proc{args: []string{"sendmail", "-C", cfg, "-t", "-i"}, env: env, stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "safe in the outbox") {
		t.Fatalf("want the message deferred: %s", r)
	}
	checkSafeOutput(t, "sendmail stderr", r.stderr)
	lineWith(t, "sendmail stderr", r.stderr, "tlsmail: not delivered yet", "451")

	r = proc{args: []string{"queue", "list"}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("queue list: %s", r)
	}
	checkSafeOutput(t, "queue list", r.stdout)
	lineWith(t, "queue list", r.stdout, "", "451")

	r = proc{args: []string{"queue", "flush"}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("queue flush: %s", r)
	}
	checkSafeOutput(t, "queue flush", r.stdout+r.stderr)
	lineWith(t, "queue flush", r.stdout, "delivered", "queued as 42 "+quotedWire)
}

// TestPrintersQuote feeds hostile text straight to the printers, for the
// paths no server above reaches: an error whose message is the peer's raw
// text, and every outcome of `queue run`.
func TestPrintersQuote(t *testing.T) {
	tests := []struct {
		name  string
		print func(*bytes.Buffer)
	}{
		{"printError", func(b *bytes.Buffer) { printError(b, classify(errors.New("handshake: "+hostileText))) }},
		{"printError with fix", func(b *bytes.Buffer) {
			printError(b, classify(usageErrorf("bad %s", hostileText).withFix("do "+hostileText)))
		}},
		{"delivered", func(b *bytes.Buffer) {
			fmt.Fprintln(b, submit.Report{ID: "1", Outcome: "delivered", Recipients: []string{"bob@example.org"}, Response: "250 " + hostileText})
		}},
		{"deferred", func(b *bytes.Buffer) {
			fmt.Fprintln(b, submit.Report{ID: "1", Outcome: "deferred", Recipients: []string{"bob@example.org"}, Error: "451 " + hostileWire})
		}},
		{"failed", func(b *bytes.Buffer) {
			fmt.Fprintln(b, submit.Report{ID: "1", Outcome: "failed", Recipients: []string{"bob@example.org"}, Error: "554 " + hostileWire})
		}},
		{"spool recipients", func(b *bytes.Buffer) {
			fmt.Fprintln(b, submit.Report{ID: "1", Outcome: "delivered", Recipients: []string{"bob@example.org" + hostileText}, Response: "250 ok"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.print(&b)
			checkSafeOutput(t, tc.name, b.String())
			if !strings.Contains(b.String(), `evil\x1b[2J`) {
				t.Errorf("the text is not shown, quoted:\n%s", b.String())
			}
		})
	}
}
