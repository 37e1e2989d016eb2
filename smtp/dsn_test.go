package smtp

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// A DSN request (RFC 3461) goes out as MAIL's RET= and each RCPT's
// NOTIFY=, on a server that offers DSN, with and without PIPELINING paths
// (Send and SendAll); to a server that does not offer it nothing is sent
// and the error is KindUnavailable (msmtp exits 69 there).
func TestDSNRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(dsn bool) *server.Server {
		srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv
	}
	env := Envelope{From: "a@example.org", To: []string{"b@example.org", "c@example.org"},
		DSN: DSN{Return: "hdrs", Notify: "failure,delay"}}
	dialTo := func(srv *server.Server, log *bytes.Buffer) *Client {
		c, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second, Transcript: transcript.New(log),
			TLS: &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	srv := start(true)
	var log bytes.Buffer
	c := dialTo(srv, &log)
	if _, err := c.Send(ctx, env, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	sent := false
	var sendAllErr error
	err := c.SendAll(ctx, func() (Envelope, io.Reader, error) {
		if sent {
			return Envelope{}, nil, io.EOF
		}
		sent = true
		return env, strings.NewReader(msg), nil
	}, func(_ int, _ *Result, err error) { sendAllErr = err })
	if err != nil || sendAllErr != nil {
		t.Fatalf("SendAll: %v, %v", err, sendAllErr)
	}
	msgs, err := srv.Wait(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.DSNReturn != "HDRS" || !slices.Equal(m.Notify, []string{"FAILURE,DELAY", "FAILURE,DELAY"}) {
			t.Errorf("message %d: the server got RET %q NOTIFY %q", i, m.DSNReturn, m.Notify)
		}
	}
	if !strings.Contains(log.String(), "MAIL FROM:<a@example.org> RET=HDRS") {
		t.Errorf("transcript lacks RET=HDRS:\n%s", log.String())
	}

	srv = start(false)
	log.Reset()
	c = dialTo(srv, &log)
	_, err = c.Send(ctx, env, strings.NewReader(msg))
	wantKind(t, err, KindUnavailable)
	if strings.Contains(log.String(), "MAIL FROM") {
		t.Errorf("MAIL was sent to a server without DSN:\n%s", log.String())
	}
	// The session is still usable: the same message without DSN goes.
	env.DSN = DSN{}
	if _, err := c.Send(ctx, env, strings.NewReader(msg)); err != nil {
		t.Fatalf("without DSN: %v", err)
	}
}

// Envelope.Check refuses what RFC 3461 does not allow, before any
// connection.
func TestDSNCheck(t *testing.T) {
	for _, tc := range []struct {
		dsn DSN
		ok  bool
	}{
		{DSN{}, true},
		{DSN{Return: "FULL"}, true},
		{DSN{Return: "hdrs", Notify: "never"}, true},
		{DSN{Notify: "SUCCESS,FAILURE,DELAY"}, true},
		{DSN{Return: "HEADERS"}, false},
		{DSN{Notify: "NEVER,FAILURE"}, false},
		{DSN{Notify: "FAILURE,FAILURE"}, false},
		{DSN{Notify: "FAILURE, DELAY"}, false},
		{DSN{Notify: ","}, false},
		{DSN{Notify: "FAILURE\r\nRSET"}, false},
	} {
		err := Envelope{From: "a@example.org", To: []string{"b@example.org"}, DSN: tc.dsn}.Check()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: error %v, want ok=%v", tc.dsn, err, tc.ok)
		}
		if err != nil {
			wantKind(t, err, KindUsage)
		}
	}
}

// Without PIPELINING the commands go one by one, with the same DSN
// parameters.
func TestDSNRequestSequential(t *testing.T) {
	got := make(chan string, 2)
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("DSN")
		got <- p.expect("MAIL FROM:")
		p.send("250 2.1.0 ok\r\n")
		got <- p.expect("RCPT TO:")
		p.send("250 2.1.5 ok\r\n")
		p.expect("DATA")
		p.send("354 go ahead\r\n")
		p.data()
		p.send("250 2.0.0 Ok: queued as ABC123\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	env := Envelope{From: "a@example.org", To: []string{"b@example.org"}, DSN: DSN{Return: "FULL", Notify: "never"}}
	if _, err := c.Send(context.Background(), env, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if l := <-got; l != "MAIL FROM:<a@example.org> RET=FULL" {
		t.Errorf("MAIL line %q", l)
	}
	if l := <-got; l != "RCPT TO:<b@example.org> NOTIFY=NEVER" {
		t.Errorf("RCPT line %q", l)
	}
}
