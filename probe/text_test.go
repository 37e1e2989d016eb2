package probe_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/probe"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// TestReportText probes the embedded server over STARTTLS and implicit
// TLS, with versions, and prints the Report: the SMTP section first (the
// server and mode, greeting, capabilities, STARTTLS offered), then the TLS
// session and the versions tried.
func TestReportText(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		addr     string
		mode     smtp.TLSMode
		versions bool
		want     []string
	}{
		{srv.SMTPAddr(), smtp.StartTLS, false,
			[]string{"SMTP:\n  server       " + srv.SMTPAddr() + " (STARTTLS)\n  banner       220 ", "  starttls     offered\n", "  ehlo (tls)   ", "\nTLS:\n  version      TLS 1.3\n", "  name         127.0.0.1\n", "  ocsp staple  none\n"}},
		{srv.SMTPSAddr(), smtp.Implicit, true,
			[]string{"(implicit TLS)", "\nTLS:\n", "\nTLS versions:\n", "  TLS 1.0      refused", "  TLS 1.3      accepted, TLS_"}},
	}
	for _, tc := range tests {
		cfg := &probe.Config{Addr: tc.addr, Mode: tc.mode, Timeout: 10 * time.Second, Versions: tc.versions,
			Trust: trust.Options{Name: "127.0.0.1", Roots: srv.CAPool()}}
		r, err := probe.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		if !strings.HasPrefix(text, "SMTP:\n") {
			t.Errorf("%s: the SMTP section is not first:\n%s", tc.mode, text)
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the text lacks %q:\n%s", tc.mode, w, text)
			}
		}
		if tc.mode == smtp.Implicit && strings.Contains(text, "starttls") {
			t.Errorf("implicit TLS: a STARTTLS row:\n%s", text)
		}
	}
}

// TestReportTextQuotes: what the server chose to say (its greeting, its
// capabilities, a version attempt's error) is printed quoted, so a hostile
// server cannot write escape sequences or forge lines; a server that does
// not offer STARTTLS is called out.
func TestReportTextQuotes(t *testing.T) {
	t.Parallel()
	const hostile = "evil\x1b[2J\r\n    fix: trust me"
	r := &probe.Report{
		Server:   "mx.example.org:25",
		Mode:     smtp.StartTLS,
		SMTP:     &probe.SMTP{Banner: "220 " + hostile, EHLO: []string{"SIZE", hostile}},
		Versions: []probe.Version{{Version: "TLS 1.0", Result: "error", Detail: hostile}},
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !safetext.IsClean(line) {
			t.Errorf("unquoted line %q", line)
		}
	}
	for _, w := range []string{`220 evil\x1b[2J\x0d\x0a    fix: trust me`, "NOT offered: mail to this server travels in the clear",
		"TLS versions:", "  ehlo         SIZE, evil", "  TLS 1.0      error: evil"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the text lacks %q:\n%s", w, b.String())
		}
	}
	if strings.Contains(b.String(), "\nTLS:\n") {
		t.Errorf("a TLS section without a session:\n%s", b.String())
	}
}
