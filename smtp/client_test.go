package smtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

const msg = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"

func dial(t *testing.T, addr string, cfg *Config) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c, err := Dial(ctx, addr, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func send(t *testing.T, c *Client, to ...string) (*Result, error) {
	t.Helper()
	if len(to) == 0 {
		to = []string{"b@example.org"}
	}
	return c.Send(context.Background(), Envelope{From: "a@example.org", To: to}, strings.NewReader(msg))
}

func wantKind(t *testing.T, err error, k Kind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *smtp.Error", err, err)
	}
	if e.Kind != k {
		t.Fatalf("kind = %q, want %q (error: %v)", e.Kind, k, err)
	}
	if e.Fix == "" {
		t.Errorf("error %v has no fix", err)
	}
	return e
}

// The greeting and the replies arrive one byte at a time: TCP keeps no
// message boundaries, and the client must not care.
func TestDripFedSTARTTLSSend(t *testing.T) {
	got := make(chan string, 1)
	addr := scripted(t, func(p *peer) {
		p.drip = true
		p.send("220-test.example ESMTP\r\n220 second greeting line\r\n")
		p.ehlo("PIPELINING", "STARTTLS", "SIZE 1000000")
		p.expect("STARTTLS")
		p.send("220 2.0.0 ready\r\n")
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.ehlo("SIZE 1000000", "AUTH PLAIN")
		l := p.expect("MAIL FROM:<a@example.org>")
		if !strings.Contains(l, "SIZE=") {
			t.Errorf("MAIL without SIZE: %q", l)
		}
		p.send("250 ok\r\n")
		p.expect("RCPT TO:<b@example.org>")
		p.send("250 ok\r\n")
		p.expect("DATA")
		p.send("354 go\r\n")
		got <- p.data()
		p.send("250 2.0.0 Ok: queued as ABC123\r\n")
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	var log bytes.Buffer
	c, err := dial(t, addr, &Config{TLS: tlsConfig(), Transcript: transcript.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	if pipelined, _ := c.Extension("PIPELINING"); pipelined {
		t.Error("PIPELINING from the EHLO before STARTTLS survived the second EHLO")
	}
	res, err := c.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}, Size: int64(len(msg))}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Error(err)
	}
	if d := <-got; d != msg {
		t.Errorf("server got %q, want %q", d, msg)
	}
	if res.Response == nil || !strings.Contains(res.Response.Text(), "ABC123") || res.Response.Enhanced != "2.0.0" {
		t.Errorf("response = %+v", res.Response)
	}
	st, ok := c.TLS()
	if !ok || !st.Verified {
		t.Errorf("TLS state = %+v, %v", st, ok)
	}
	for _, want := range []string{"S: 24 bytes: 220-test.example ESMTP", "C: 10 bytes: STARTTLS", "TLS handshake done", "certificate verified"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, log.String())
		}
	}
}

func TestPipeliningSendsEnvelopeInOneFlight(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		// Read every command before answering any: a client that waits
		// for the MAIL reply would stall here and time out.
		p.expect("MAIL FROM:")
		p.expect("RCPT TO:<b@example.org>")
		p.expect("RCPT TO:<c@example.org>")
		p.expect("DATA")
		p.send("250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n")
		p.data()
		p.send("250 ok\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := send(t, c, "b@example.org", "c@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 1 || res.Accepted[0] != "c@example.org" {
		t.Errorf("accepted = %v", res.Accepted)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Addr != "b@example.org" || res.Rejected[0].Reply.Enhanced != "5.1.1" {
		t.Errorf("rejected = %+v", res.Rejected)
	}
}

func TestSTARTTLSNotOffered(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("AUTH PLAIN")
		if l := p.line(); l != "<EOF>" && !strings.HasPrefix(l, "QUIT") {
			t.Errorf("client went on after missing STARTTLS: %q", l)
		}
	})
	_, err := dial(t, addr, &Config{TLS: tlsConfig(), Auth: &Auth{Username: "u", Password: "secret"}})
	wantKind(t, err, KindStartTLSUnavailable)
}

// Bytes after the 220 to STARTTLS would be read as if they came over TLS:
// the CVE-2011-0411 class of command injection.
func TestSTARTTLSInjection(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("STARTTLS")
		p.expect("STARTTLS")
		p.send("220 ready\r\n250-injected\r\n250 AUTH PLAIN\r\n")
		p.line()
	})
	_, err := dial(t, addr, &Config{TLS: tlsConfig()})
	wantKind(t, err, KindStartTLSInjection)
}

func TestImplicitTLSGreetingWithHandshake(t *testing.T) {
	got := make(chan string, 1)
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n") // right behind the handshake
		p.ehlo("AUTH LOGIN PLAIN CRAM-MD5")
		p.expect("AUTH CRAM-MD5")
		p.send("334 " + base64.StdEncoding.EncodeToString([]byte("<1.2@test>")) + "\r\n")
		resp, _ := base64.StdEncoding.DecodeString(p.line())
		got <- string(resp)
		p.send("235 2.7.0 ok\r\n")
		p.envelope()
	})
	var log bytes.Buffer
	c, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(), Transcript: transcript.New(&log),
		Auth: &Auth{Username: "user", Password: "tanstaaftanstaaf"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, c); err != nil {
		t.Fatal(err)
	}
	// RFC 2195's example with this password gives this digest for its
	// challenge; ours differs, so check the shape and the user.
	if r := <-got; !strings.HasPrefix(r, "user ") || len(r) != len("user ")+32 {
		t.Errorf("CRAM-MD5 response %q", r)
	}
	if c.AuthMechanism() != "CRAM-MD5" {
		t.Errorf("mechanism = %q, want CRAM-MD5 (strongest offered)", c.AuthMechanism())
	}
	if strings.Contains(log.String(), "tanstaaf") {
		t.Errorf("password in transcript:\n%s", log.String())
	}
}

func TestAuthPlainRedactedAndRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH PLAIN LOGIN")
		l := p.expect("AUTH PLAIN ")
		ir, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "AUTH PLAIN "))
		if string(ir) != "\x00user\x00hunter2" {
			t.Errorf("PLAIN initial response %q", ir)
		}
		p.send("535 5.7.8 Authentication credentials invalid\r\n")
	})
	var log bytes.Buffer
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(), Transcript: transcript.New(&log),
		Auth: &Auth{Mechanism: "PLAIN", Username: "user", Password: "hunter2"}})
	e := wantKind(t, err, KindAuth)
	if e.Temporary() {
		t.Error("535 reported as temporary")
	}
	secret := base64.StdEncoding.EncodeToString([]byte("\x00user\x00hunter2"))
	if strings.Contains(log.String(), "hunter2") || strings.Contains(log.String(), secret) {
		t.Errorf("secret in transcript:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "AUTH PLAIN [redacted]") {
		t.Errorf("transcript does not show the redacted AUTH line:\n%s", log.String())
	}
}

func TestAuthLoginAnswersPrompts(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH LOGIN")
		p.expect("AUTH LOGIN")
		for _, want := range []struct{ prompt, answer string }{{"Username:", "user"}, {"Password:", "pw"}} {
			p.send("334 " + base64.StdEncoding.EncodeToString([]byte(want.prompt)) + "\r\n")
			got, _ := base64.StdEncoding.DecodeString(p.line())
			if string(got) != want.answer {
				t.Errorf("answer to %s = %q", want.prompt, got)
			}
		}
		p.send("235 ok\r\n")
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(), Auth: &Auth{Username: "user", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Quit(context.Background())
}

func TestPasswordNeverSentInClear(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		if l := p.line(); strings.HasPrefix(l, "AUTH") {
			t.Errorf("client sent %q in the clear", l)
		}
	})
	_, err := dial(t, addr, &Config{Mode: None, Auth: &Auth{Username: "u", Password: "p"}})
	wantKind(t, err, KindConfig)
}

func TestMustIssueSTARTTLSFirst(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL")
		p.expect("RCPT")
		p.expect("DATA")
		p.send("530 5.7.0 Must issue a STARTTLS command first\r\n503 no\r\n503 no\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c)
	e := wantKind(t, err, KindStartTLSUnavailable)
	if !strings.Contains(e.Fix, "STARTTLS") && !strings.Contains(e.Fix, "starttls") {
		t.Errorf("fix %q does not mention STARTTLS", e.Fix)
	}
}

func TestReplyClasses(t *testing.T) {
	tests := []struct {
		name      string
		mailReply string
		kind      Kind
		temporary bool
	}{
		{"temporary", "451 4.3.0 try later\r\n", KindRejected, true},
		{"permanent", "550 5.7.1 relaying denied\r\n", KindRejected, false},
		{"auth required", "530 5.7.0 Authentication required\r\n", KindAuth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				p.ehlo()
				p.expect("MAIL")
				p.send(tt.mailReply)
				p.line()
			})
			c, err := dial(t, addr, &Config{Mode: None})
			if err != nil {
				t.Fatal(err)
			}
			_, err = send(t, c)
			e := wantKind(t, err, tt.kind)
			if e.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v", e.Temporary())
			}
		})
	}
}

func TestEveryRecipientRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo()
		p.expect("MAIL")
		p.send("250 ok\r\n")
		p.expect("RCPT")
		p.send("550 5.1.1 unknown\r\n")
		p.expect("RSET")
		p.send("250 ok\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	res, err := send(t, c)
	wantKind(t, err, KindRejected)
	if len(res.Rejected) != 1 {
		t.Errorf("rejected = %+v", res.Rejected)
	}
}

func TestGreetingRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) { p.send("554 5.3.2 no service for you\r\n") })
	_, err := dial(t, addr, &Config{Mode: None})
	wantKind(t, err, KindUnavailable)
}

func TestHELOFallbackWithoutTLS(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 old server\r\n")
		p.expect("EHLO")
		p.send("502 what?\r\n")
		p.expect("HELO")
		p.send("250 hello\r\n")
		p.envelope()
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, c); err != nil {
		t.Fatal(err)
	}
}

func TestStalledServerTimesOut(t *testing.T) {
	addr := scripted(t, func(p *peer) { p.line() }) // never greets
	_, err := dial(t, addr, &Config{Mode: None, Timeout: 200 * time.Millisecond})
	wantKind(t, err, KindTimeout)
}

func TestHostileReplies(t *testing.T) {
	tests := []struct{ name, greeting string }{
		{"line too long", "220 " + strings.Repeat("x", 5000) + "\r\n"},
		{"too many lines", strings.Repeat("220-x\r\n", 300) + "220 x\r\n"},
		{"not SMTP", "HTTP/1.1 400 Bad Request\r\n"},
		{"code changes", "220-a\r\n250 b\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scripted(t, func(p *peer) { p.send(tt.greeting); p.line() })
			_, err := dial(t, addr, &Config{Mode: None})
			wantKind(t, err, KindProtocol)
		})
	}
}

func TestUntrustedCertificateSendsNothing(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("STARTTLS")
		p.expect("STARTTLS")
		p.send("220 go\r\n")
		if p.tlsServer(pki().Server.TLSCertificate()) {
			t.Error("handshake succeeded with an untrusted root")
		}
	})
	_, err := dial(t, addr, &Config{TLS: nil}) // system roots do not know the test CA
	e := wantKind(t, err, KindCertificate)
	var te *trust.Error
	if !errors.As(e, &te) || !te.Report.Has(trust.KindUntrustedRoot) {
		t.Errorf("error %v does not carry an untrusted-root report", err)
	}
	if !e.Temporary() {
		t.Error("certificate failures are deferred (temporary), as Postfix does")
	}
}

func TestHostNotFound(t *testing.T) {
	_, err := dial(t, "no-such-host.invalid:25", &Config{Mode: None})
	e := wantKind(t, err, KindNetwork)
	if !e.HostNotFound() {
		t.Errorf("HostNotFound() = false for %v", err)
	}
}

func TestInjectionInAddressRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo()
		if l := p.line(); strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") {
			t.Errorf("client sent %q", l)
		}
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c, "b@example.org>\r\nRCPT TO:<evil@example.org")
	wantKind(t, err, KindUsage)
	c.Close()
}

// A 530 that mentions STARTTLS on a session already under TLS asks for
// AUTH, not for TLS.
func TestAuthRequiredAfterSTARTTLS(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH PLAIN")
		p.expect("MAIL")
		p.send("530 5.7.0 Authentication required: AUTH first (after STARTTLS)\r\n")
		p.line()
	})
	c, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c)
	wantKind(t, err, KindAuth)
}
