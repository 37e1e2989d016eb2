package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/probe"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// TestSummary probes the embedded server and prints the Summary: a trusted
// chain over STARTTLS and implicit TLS, an untrusted one (system roots),
// and a probe that never started. The text has the verdict first, then the
// SMTP and TLS sections and the chain; the JSON has the fields of
// `tlsmail probe --json` with empty lists, never null, when nothing is
// known.
func TestSummary(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name    string
		addr    string
		mode    smtp.TLSMode
		trusted bool
		want    []string
	}{
		{"starttls, its CA", srv.SMTPAddr(), smtp.StartTLS, true,
			[]string{"OK: the certificate chain for 127.0.0.1 is trusted", "(STARTTLS)", "  starttls     offered", "TLS:", "  version      TLS 1.3", "ehlo (tls)"}},
		{"implicit, its CA", srv.SMTPSAddr(), smtp.Implicit, true,
			[]string{"OK: ", "(implicit TLS)", "TLS:"}},
		{"starttls, system roots", srv.SMTPAddr(), smtp.StartTLS, false,
			[]string{"FAIL: the certificate chain for 127.0.0.1 is not trusted", "TLS:"}},
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
		s := probe.Summarize(cfg.Addr, cfg.Mode, r, cfg.Trust)
		if s.OK != tc.trusted || s.Server != tc.addr || s.Mode != string(tc.mode) || len(s.Certificates) == 0 || s.TLS == nil {
			t.Errorf("%s: Summary %+v", tc.name, s)
		}
		var b bytes.Buffer
		if err := s.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the text lacks %q:\n%s", tc.name, w, text)
			}
		}
		if first, _, _ := strings.Cut(text, "\n"); !strings.HasPrefix(first, "OK: ") && !strings.HasPrefix(first, "FAIL: ") {
			t.Errorf("%s: the verdict is not first:\n%s", tc.name, text)
		}
		if strings.Index(text, "SMTP:") > strings.Index(text, "TLS:") {
			t.Errorf("%s: SMTP does not come before TLS:\n%s", tc.name, text)
		}
	}

	// No probe: the server and mode, empty lists, and "no TLS session".
	s := probe.Summarize("mail.example.org:587", smtp.StartTLS, nil, trust.Options{})
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"server":"mail.example.org:587"`, `"mode":"starttls"`, `"problems":[]`, `"certificates":[]`, `"path":[]`, `"tls":null`} {
		if !bytes.Contains(j, []byte(w)) {
			t.Errorf("empty Summary JSON lacks %s: %s", w, j)
		}
	}
	var b bytes.Buffer
	s.WriteText(&b)
	if !strings.HasPrefix(b.String(), "FAIL: no TLS session with mail.example.org:587\n") {
		t.Errorf("empty Summary text:\n%s", b.String())
	}
}

// TestSummaryQuotes: what the server chose to say (its greeting, its
// capabilities, a version attempt's error) is printed quoted, so a
// hostile server cannot write escape sequences or forge lines.
func TestSummaryQuotes(t *testing.T) {
	t.Parallel()
	const hostile = "evil\x1b[2J\r\n    fix: trust me"
	s := probe.Summarize("mx.example.org:25", smtp.StartTLS, &probe.Report{
		Mode:     smtp.StartTLS,
		SMTP:     &probe.SMTP{Banner: "220 " + hostile, EHLO: []string{"SIZE", hostile}, StartTLS: false},
		Versions: []probe.Version{{Version: "TLS 1.0", Result: "error", Detail: hostile}},
	}, trust.Options{})
	var b bytes.Buffer
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !safetext.IsClean(line) {
			t.Errorf("unquoted line %q", line)
		}
	}
	for _, w := range []string{`220 evil\x1b[2J\x0d\x0a    fix: trust me`, "NOT offered: mail to this server travels in the clear", "TLS versions:", "  ehlo         SIZE, evil"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the text lacks %q:\n%s", w, b.String())
		}
	}
}
