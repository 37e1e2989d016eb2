package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestSendWithConfig reads the server, TLS and account from an
// msmtp-format file, and checks the refusals that are configuration errors
// (exit 78).
func TestSendWithConfig(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	host, port := splitAddr(t, srv.SMTPAddr())
	_, sport := splitAddr(t, srv.SMTPSAddr())
	account := func(name, port, starttls string, extra ...string) string {
		return fmt.Sprintf("account %s\nhost %s\nport %s\ntls on\ntls_starttls %s\ntls_trust_file %s\nauth on\nuser %s\nfrom ann@example.com\n%s\n",
			name, host, port, starttls, srv.CAFile(), testUser, strings.Join(extra, "\n"))
	}
	good := writeFile(t, "msmtprc", []byte("defaults\ntimeout 30\n\n"+
		account("sub", port, "on", "passwordeval printf '%s\\n' \"$"+passwordVar+"\"")+"\n"+
		account("smtps", sport, "off", "passwordeval printf '%s\\n' \"$"+passwordVar+"\"")+"\n"+
		"account default : sub\n"), 0o600)
	withPassword := account("default", port, "on", "password "+testPassword)
	open := writeFile(t, "open-msmtprc", []byte(withPassword), 0o644)
	private := writeFile(t, "private-msmtprc", []byte(withPassword), 0o600)
	fingerprint := writeFile(t, "fp-msmtprc", []byte(account("default", port, "on",
		"passwordeval echo x", "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33")), 0o600)
	syntax := writeFile(t, "bad-msmtprc", []byte("account default\nhots example.com\n"), 0o600)

	msg := []string{"--to", "bob@example.org", "--subject", "from config", "--body", "b"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		starttls bool
	}{
		{"default account", append([]string{"send", "--config", good}, msg...), 0, true},
		{"named account, implicit TLS", append([]string{"send", "--config", good, "--account", "smtps"}, msg...), 0, false},
		{"flags win: --server and --tls", append([]string{"send", "--config", good, "--account", "sub",
			"--server", srv.SMTPSAddr(), "--tls", "implicit"}, msg...), 0, false},
		{"password in a private file", append([]string{"send", "--config", private}, msg...), 0, true},
		{"found through TLSMAIL_CONFIG", append([]string{"send"}, msg...), 0, true},
		{"password in a world-readable file", append([]string{"send", "--config", open}, msg...), exitConfig, false},
		{"unknown account", append([]string{"send", "--config", good, "--account", "nope"}, msg...), exitConfig, false},
		{"syntax error", append([]string{"send", "--config", syntax}, msg...), exitConfig, false},
		{"tls_fingerprint", append([]string{"send", "--config", fingerprint}, msg...), exitConfig, false},
		{"missing file", append([]string{"send", "--config", good + ".missing"}, msg...), exitConfig, false},
	}
	stored := 0
	for _, tc := range tests {
		env := append(authEnv(), "TLSMAIL_CONFIG="+good)
		r := cli{args: tc.args, env: env}.run(t)
		if r.code != tc.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.wantCode, r)
			continue
		}
		if tc.wantCode != 0 {
			if !strings.Contains(r.stderr, "fix: ") && !strings.Contains(r.stderr, "(") {
				t.Errorf("%s: no fix:\n%s", tc.name, r)
			}
			if strings.Contains(r.stderr, testPassword) {
				t.Errorf("%s: the password is in the error:\n%s", tc.name, r)
			}
			continue
		}
		stored++
		m := waitMessages(t, srv, stored)[stored-1]
		if m.AuthUser != testUser || m.TLS == nil || m.TLS.STARTTLS != tc.starttls {
			t.Errorf("%s: auth %q, tls %+v", tc.name, m.AuthUser, m.TLS)
		}
	}
}

// TestTLSNoneWarnsOnlyForFlags: "--tls none: ... no effect" is for TLS
// flags given on the command line, not for an account of the
// configuration file that names a CA file and has tls off.
func TestTLSNoneWarnsOnlyForFlags(t *testing.T) {
	t.Parallel()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "unused root"})
	if err != nil {
		t.Fatal(err)
	}
	ca := writeFile(t, "ca.pem", testpki.CertsPEM(root.Cert), 0o644)
	rc := writeFile(t, "msmtprc", []byte("account default\nhost 127.0.0.1\nport 1\ntls off\ntls_trust_file "+ca+
		"\nfrom ann@example.com\n"), 0o600)
	msg := []string{"--to", "bob@example.org", "--body", "b", "--timeout", "5s"}
	tests := []struct {
		name string
		args []string
		want string // "" for no warning
	}{
		{"tls off and tls_trust_file in the file", []string{"--config", rc}, ""},
		{"--tls none from the command line, CA from the file", []string{"--config", rc, "--tls", "none"}, ""},
		{"--ca on the command line", []string{"--config", rc, "--ca", ca}, "--ca has no effect"},
		{"--tls none with --ca and --tls-name", []string{"--server", "127.0.0.1:1", "--from", "a@example.com",
			"--tls", "none", "--ca", ca, "--tls-name", "x.example"}, "--ca, --tls-name have no effect"},
	}
	for _, tc := range tests {
		r := cli{args: append(append([]string{"send"}, tc.args...), msg...)}.run(t)
		if r.code != exitTempFail {
			t.Errorf("%s: want exit %d (nothing listens on port 1):\n%s", tc.name, exitTempFail, r)
		}
		switch {
		case tc.want == "" && strings.Contains(r.stderr, "no effect"):
			t.Errorf("%s: a warning for flags that were not given:\n%s", tc.name, r)
		case tc.want != "" && !strings.Contains(r.stderr, tc.want):
			t.Errorf("%s: no warning %q:\n%s", tc.name, tc.want, r)
		}
	}
}
