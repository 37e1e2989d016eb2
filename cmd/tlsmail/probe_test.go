package main

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

// scenarioServer runs the embedded server presenting s's chain (and its
// OCSP staple) on both listeners.
func scenarioServer(t *testing.T, s *testpki.Scenario, modify func(*server.Config)) *server.Server {
	t.Helper()
	cert := s.TLSCertificate()
	return startServer(t, func(c *server.Config) {
		c.Certificate = &cert
		if modify != nil {
			modify(c)
		}
	})
}

// servedScenario is one broken (or warning-only) chain presented by a
// running embedded server, with its roots written to a file.
type servedScenario struct {
	scenarioCase
	srv      *server.Server
	ca       string // the roots the client trusts, as a PEM file
	mode     string // "starttls" or "implicit"
	addr     string // the listener of that mode
	implicit bool
}

// forEachServedScenario runs fn in a parallel subtest for every scenario a
// Go server can present, alternating STARTTLS and implicit TLS.
func forEachServedScenario(t *testing.T, fn func(t *testing.T, c servedScenario)) {
	for i, c := range certScenarios(t, true) {
		if c.s.Variant == "weak-key-p224" {
			continue // crypto/tls cannot sign with a P-224 key: no Go server can present it (cert verify covers it)
		}
		mode, implicit := "starttls", i%2 == 1
		if implicit {
			mode = "implicit"
		}
		name := c.s.Variant + "-" + mode
		if len(c.extra) > 0 {
			name += "-" + strings.ReplaceAll(strings.Join(c.extra, "-"), "--", "")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := servedScenario{scenarioCase: c, srv: scenarioServer(t, c.s, nil), mode: mode, implicit: implicit,
				ca: writeFile(t, "ca.pem", testpki.CertsPEM(c.s.Roots...), 0o644)}
			sc.addr = sc.srv.SMTPAddr()
			if implicit {
				sc.addr = sc.srv.SMTPSAddr()
			}
			fn(t, sc)
		})
	}
}

// TestProbeScenarios: probe, against a server presenting each broken
// chain, names the kind in --json with the right severity and exit code,
// over STARTTLS and implicit TLS in turn, and sends no mail.
func TestProbeScenarios(t *testing.T) {
	t.Parallel()
	forEachServedScenario(t, func(t *testing.T, c servedScenario) {
		args := append([]string{"probe", "--json", "--tls", c.mode, c.addr}, trustArgs(c.s, c.ca)...)
		r := runTLSMail(t, append(args, c.extra...)...)
		m := checkScenarioJSON(t, c.scenarioCase, r)
		if m["mode"] != c.mode {
			t.Errorf("mode %v, want %s", m["mode"], c.mode)
		}
		tl, _ := m["tls"].(map[string]any)
		if v, _ := tl["version"].(string); !strings.HasPrefix(v, "TLS 1.") {
			t.Errorf("tls.version = %v", tl["version"])
		}
		sm, _ := m["smtp"].(map[string]any)
		if b, _ := sm["banner"].(string); !strings.HasPrefix(b, "220 ") {
			t.Errorf("smtp.banner = %v", sm["banner"])
		}
		if starttls, _ := sm["starttls"].(bool); starttls == c.implicit {
			t.Errorf("smtp.starttls = %v in %s mode", starttls, c.mode)
		}
		if c.s.Variant == "revoked-staple" && tl["ocsp_staple"] != "revoked" {
			t.Errorf("tls.ocsp_staple = %v, want revoked", tl["ocsp_staple"])
		}
		if ms, err := c.srv.Messages(); err != nil || len(ms) != 0 {
			t.Errorf("probe delivered %d message(s) (%v)", len(ms), err)
		}
	})
}

// TestProbeGood: a good chain exits 0 in both modes; the text shows the
// verdict first, the SMTP and TLS sessions, the chain and the details.
func TestProbeGood(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	tests := []struct {
		mode, addr string
		want       []string
		not        []string
	}{
		{"starttls", srv.SMTPAddr(),
			[]string{"(STARTTLS)", "banner       220 ", "ehlo         ", "STARTTLS", "starttls     offered", "ehlo (tls)   ", "AUTH PLAIN"},
			nil},
		{"implicit", srv.SMTPSAddr(),
			[]string{"(implicit TLS)", "banner       220 ", "ehlo (tls)   ", "AUTH PLAIN"},
			[]string{"starttls     "}},
	}
	for _, tc := range tests {
		r := runTLSMail(t, "probe", "--tls", tc.mode, "--ca", srv.CAFile(), "--name", "localhost", tc.addr)
		if r.code != 0 {
			t.Fatalf("%s: %s", tc.mode, r)
		}
		if first, _, _ := strings.Cut(r.stdout, "\n"); first != "OK: the certificate chain for localhost is trusted" {
			t.Errorf("%s: first line %q", tc.mode, first)
		}
		want := append(tc.want, "TLS:", "version      TLS 1.3", "cipher       TLS_", "ocsp staple  none",
			"Chain:", "✓ [0] CN=localhost", "Certificates:", "spki pin")
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.mode, w, r)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(r.stdout, w) {
				t.Errorf("%s: output has %q:\n%s", tc.mode, w, r)
			}
		}
	}
	// The default mode comes from the port: not 465 means STARTTLS.
	r := runTLSMail(t, "probe", "--json", "--ca", srv.CAFile(), "--name", "localhost", srv.SMTPAddr())
	m := decodeJSON(t, r)
	if r.code != 0 || m["mode"] != "starttls" || m["ok"] != true {
		t.Errorf("default mode: %s", r)
	}
	if ms, err := srv.Messages(); err != nil || len(ms) != 0 {
		t.Errorf("probe delivered %d message(s) (%v)", len(ms), err)
	}
}

// TestProbeSystemRoots: without --ca the embedded server's private root is
// unknown, and the name defaults to the host given.
func TestProbeSystemRoots(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r := runTLSMail(t, "probe", "--json", srv.SMTPAddr())
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r)
	}
	m := decodeJSON(t, r)
	if _, ok := problemKinds(t, m)["untrusted-root"]; !ok {
		t.Errorf("want untrusted-root:\n%s", r.stdout)
	}
	if m["name"] != "127.0.0.1" {
		t.Errorf("name = %v, want the host 127.0.0.1", m["name"])
	}
}

// TestProbeNoSTARTTLS: a server that does not offer STARTTLS is reported
// as such, with the capabilities it does offer, and the send exit code.
func TestProbeNoSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) { c.DisableSTARTTLS = true })
	r := runTLSMail(t, "probe", "--json", "--ca", srv.CAFile(), srv.SMTPAddr())
	if r.code != 75 {
		t.Fatalf("exit %d, want 75\n%s", r.code, r)
	}
	m := decodeJSON(t, r)
	sm, _ := m["smtp"].(map[string]any)
	e, _ := m["error"].(map[string]any)
	if sm["starttls"] != false || len(sm["ehlo"].([]any)) == 0 || m["tls"] != nil || m["ok"] != false {
		t.Errorf("smtp/tls objects wrong:\n%s", r.stdout)
	}
	if e["kind"] != "starttls-unavailable" || e["exit_code"] != float64(75) {
		t.Errorf("error = %v", e)
	}
	r = runTLSMail(t, "probe", "--ca", srv.CAFile(), srv.SMTPAddr())
	if r.code != 75 || !strings.Contains(r.stdout, "NOT offered") || !strings.Contains(r.stderr, "does not offer STARTTLS") {
		t.Errorf("text: %s", r)
	}
}

// TestProbeVersions: --versions tries each version alone. A server limited
// to TLS 1.0-1.1 is still described (and the default handshake, which
// needs 1.2, fails with the send exit code).
func TestProbeVersions(t *testing.T) {
	t.Parallel()
	modern := startServer(t, nil)
	old := startServer(t, func(c *server.Config) {
		c.MinTLSVersion, c.MaxTLSVersion = tls.VersionTLS10, tls.VersionTLS11
	})
	tests := []struct {
		name string
		srv  *server.Server
		code int
		want map[string]string
	}{
		{"1.2 and 1.3", modern, 0, map[string]string{"TLS 1.0": "refused", "TLS 1.1": "refused", "TLS 1.2": "accepted", "TLS 1.3": "accepted"}},
		{"1.0 and 1.1 only", old, 75, map[string]string{"TLS 1.0": "accepted", "TLS 1.1": "accepted", "TLS 1.2": "refused", "TLS 1.3": "refused"}},
	}
	for _, tc := range tests {
		for _, mode := range []string{"starttls", "implicit"} {
			addr := tc.srv.SMTPAddr()
			if mode == "implicit" {
				addr = tc.srv.SMTPSAddr()
			}
			r := runTLSMail(t, "probe", "--json", "--versions", "--tls", mode, "--ca", tc.srv.CAFile(), "--name", "localhost", addr)
			if r.code != tc.code {
				t.Errorf("%s %s: exit %d, want %d\n%s", tc.name, mode, r.code, tc.code, r)
				continue
			}
			m := decodeJSON(t, r)
			vs, _ := m["versions"].([]any)
			got := map[string]string{}
			for _, v := range vs {
				vm := v.(map[string]any)
				got[vm["version"].(string)] = vm["result"].(string)
				if vm["result"] == "accepted" && vm["cipher"] == "" {
					t.Errorf("%s %s: accepted without a cipher: %v", tc.name, mode, vm)
				}
			}
			for v, res := range tc.want {
				if got[v] != res {
					t.Errorf("%s %s: %s %q, want %q (all: %v)", tc.name, mode, v, got[v], res, got)
				}
			}
		}
	}
	r := runTLSMail(t, "probe", "--versions", "--ca", old.CAFile(), "--name", "localhost", old.SMTPAddr())
	for _, want := range []string{"TLS versions:", "TLS 1.0      accepted", "TLS 1.3      refused"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.stderr, "tls-handshake") {
		t.Errorf("stderr lacks the handshake failure:\n%s", r)
	}
}

// TestProbeFailures: usage errors exit 64, a missing --ca 66, and
// connection failures the exit codes of send.
func TestProbeFailures(t *testing.T) {
	t.Parallel()
	refused := newCountingListener(t) // accepts, then closes at once
	srv := startServer(t, nil)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name string
		args []string
		code int
		kind string
	}{
		{"no host", []string{"probe"}, 64, ""},
		{"tls none", []string{"probe", "--tls", "none", srv.SMTPAddr()}, 64, "usage"},
		{"bad mode", []string{"probe", "--tls", "ssl", srv.SMTPAddr()}, 64, "usage"},
		{"bad port", []string{"probe", "127.0.0.1:99999"}, 64, "usage"},
		{"bad name", []string{"probe", "--name", "a b", srv.SMTPAddr()}, 64, "usage"},
		{"bad revocation", []string{"probe", "--revocation", "sometimes", srv.SMTPAddr()}, 64, "usage"},
		{"bad pin", []string{"probe", "--pin", "sha1/abc", srv.SMTPAddr()}, 64, "usage"},
		{"missing ca", []string{"probe", "--ca", missing, srv.SMTPAddr()}, 66, "input"},
		{"host not found", []string{"probe", "mail.example.invalid"}, 68, "network"},
		{"closed at once", []string{"probe", "--timeout", "10s", refused.addr()}, 75, ""},
		{"implicit port probed as starttls", []string{"probe", "--timeout", "1s", "--tls", "starttls", srv.SMTPSAddr()}, 75, "timeout"},
	}
	for _, tc := range tests {
		r := runTLSMail(t, tc.args...)
		if r.code != tc.code || r.stderr == "" {
			t.Errorf("%s: exit %d, want %d, and a message on stderr\n%s", tc.name, r.code, tc.code, r)
		}
		if tc.kind == "" {
			continue
		}
		r = runTLSMail(t, append([]string{"probe", "--json"}, tc.args[1:]...)...)
		m := decodeJSON(t, r)
		e, _ := m["error"].(map[string]any)
		if r.code != tc.code || e["kind"] != tc.kind || e["exit_code"] != float64(tc.code) || m["ok"] != false {
			t.Errorf("%s --json: want error kind %s, exit %d:\n%s", tc.name, tc.kind, tc.code, r)
		}
	}
}

// TestProbeTranscript: --transcript - logs both sessions on stderr, ending
// with QUIT, and never a MAIL command.
func TestProbeTranscript(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	r := runTLSMail(t, "probe", "--transcript", "-", "--ca", srv.CAFile(), "--name", "localhost", srv.SMTPAddr())
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"C: ", "EHLO", "STARTTLS", "TLS handshake done", "QUIT"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("transcript lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "MAIL FROM") || strings.Contains(r.stdout, "C: ") {
		t.Errorf("transcript has MAIL FROM, or went to stdout:\n%s", r)
	}
}
