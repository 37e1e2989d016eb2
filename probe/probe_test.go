package probe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/probe"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

func startServer(t *testing.T, modify func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: t.TempDir()}
	if modify != nil {
		modify(&cfg)
	}
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestRun probes the embedded server on loopback, over STARTTLS and over
// implicit TLS, trusting its CA and then the system's roots: the SMTP
// capabilities, the TLS session and the trust report are learnt; an
// untrusted chain is reported, not an error.
func TestRun(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name    string
		addr    string
		mode    smtp.TLSMode
		trusted bool
	}{
		{"starttls, its CA", srv.SMTPAddr(), smtp.StartTLS, true},
		{"implicit, its CA", srv.SMTPSAddr(), smtp.Implicit, true},
		{"starttls, system roots", srv.SMTPAddr(), smtp.StartTLS, false},
	}
	for _, tc := range tests {
		cfg := &probe.Config{Addr: tc.addr, Mode: tc.mode, Timeout: 10 * time.Second, Trust: trust.Options{Name: "127.0.0.1"}}
		if tc.trusted {
			cfg.Trust.Roots = srv.CAPool()
		}
		r, err := probe.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasPrefix(r.SMTP.Banner, "220") || len(r.SMTP.EHLOTLS) == 0 || r.TLS == nil || r.State == nil || r.Trust == nil {
			t.Fatalf("%s: incomplete report %+v", tc.name, r)
		}
		if tc.mode == smtp.StartTLS && (!r.SMTP.StartTLS || len(r.SMTP.EHLO) == 0) {
			t.Errorf("%s: the plaintext EHLO was not recorded: %+v", tc.name, r.SMTP)
		}
		if tc.mode == smtp.Implicit && r.SMTP.EHLO != nil {
			t.Errorf("%s: a plaintext EHLO in implicit mode: %+v", tc.name, r.SMTP)
		}
		if r.Trust.OK() != tc.trusted {
			t.Errorf("%s: trusted %v, want %v; problems %v", tc.name, r.Trust.OK(), tc.trusted, r.Trust.Problems)
		}
		if r.TLS.OCSPStaple != "none" || r.TLS.ServerName != "127.0.0.1" {
			t.Errorf("%s: TLS %+v", tc.name, r.TLS)
		}
	}
}

// TestRunVersions: with Versions, each TLS version is tried alone; the
// embedded server (crypto/tls) takes 1.2 and 1.3 and refuses 1.0 and 1.1.
func TestRunVersions(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r, err := probe.Run(context.Background(), &probe.Config{Addr: srv.SMTPSAddr(), Mode: smtp.Implicit, Timeout: 10 * time.Second,
		Trust: trust.Options{Roots: srv.CAPool(), Name: "127.0.0.1"}, Versions: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"TLS 1.0": "refused", "TLS 1.1": "refused", "TLS 1.2": "accepted", "TLS 1.3": "accepted"}
	if len(r.Versions) != len(want) {
		t.Fatalf("versions %+v", r.Versions)
	}
	for _, v := range r.Versions {
		if want[v.Version] != v.Result {
			t.Errorf("%s: %s (%s), want %s", v.Version, v.Result, v.Detail, want[v.Version])
		}
	}
}

// TestRunNoSTARTTLS: a server that offers no STARTTLS is an
// *smtp.Error of KindStartTLSUnavailable, and the report keeps what was
// learnt in plaintext.
func TestRunNoSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) { c.DisableSTARTTLS = true; c.SMTPSAddr = "" })
	r, err := probe.Run(context.Background(), &probe.Config{Addr: srv.SMTPAddr(), Timeout: 10 * time.Second})
	var se *smtp.Error
	if !errors.As(err, &se) || se.Kind != smtp.KindStartTLSUnavailable || se.Fix == "" {
		t.Fatalf("err = %v, want STARTTLS unavailable with a fix", err)
	}
	if r == nil || !strings.HasPrefix(r.SMTP.Banner, "220") || r.SMTP.StartTLS || r.TLS != nil {
		t.Errorf("report %+v", r)
	}
}

// TestRunPins: pins are checked after the handshake (Insecure, which lets
// the probe see a bad chain, does not override a pin mismatch): a wrong pin
// is reported in Report.Trust with the session still described, not an
// error, and the leaf's own pin verifies.
func TestRunPins(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(pin string) *probe.Report {
		t.Helper()
		r, err := probe.Run(ctx, &probe.Config{Addr: srv.SMTPSAddr(), Mode: smtp.Implicit, Timeout: 10 * time.Second,
			Trust: trust.Options{Roots: srv.CAPool(), Name: "127.0.0.1", Pins: []string{pin}}})
		if err != nil {
			t.Fatalf("pin %s: %v", pin, err)
		}
		if r.TLS == nil || r.State == nil || r.Trust == nil || len(r.State.PeerCertificates) == 0 {
			t.Fatalf("pin %s: incomplete report %+v", pin, r)
		}
		return r
	}
	wrong := run("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if wrong.Trust.OK() || wrong.State.Verified {
		t.Errorf("a pin matching no certificate of the chain: trusted %v, verified %v", wrong.Trust.OK(), wrong.State.Verified)
	}
	right := trust.SPKIPin(wrong.State.PeerCertificates[0])
	if r := run(right); !r.Trust.OK() || !r.State.Verified {
		t.Errorf("the leaf's own pin %s: not trusted; problems %v", right, r.Trust.Problems)
	}
}
