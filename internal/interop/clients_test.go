package interop

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// Third-party clients (swaks over Perl's IO::Socket::SSL and OpenSSL, msmtp
// over GnuTLS) send into the embedded server. Each message must arrive
// byte-exact, with a sidecar that records the TLS session the client made.

const (
	clientUser     = "interop-user"
	clientPassword = "interop-Pa55word" // a test fixture, not a secret
	fromAddr       = "sender@tlsmail.test"
	submitUser     = "submit-user" // Postfix's SASL user, also for the CLI
	submitPassword = "submit-Pa55word"
	toAddr         = "rcpt@example.test"
)

// checkStored checks one stored message: bytes, envelope and TLS record.
func checkStored(t *testing.T, m server.Message, want []byte, listener string, starttls bool, authUser string) {
	t.Helper()
	got, err := m.Data()
	if err != nil {
		t.Fatal(err)
	}
	if d := diffBytes(got, want); d != "" {
		t.Errorf("stored message differs from the one sent: %s", d)
	}
	if m.From != fromAddr || len(m.To) != 1 || m.To[0] != toAddr {
		t.Errorf("envelope = %q -> %q, want %q -> [%q]", m.From, m.To, fromAddr, toAddr)
	}
	if m.Listener != listener {
		t.Errorf("listener = %q, want %q", m.Listener, listener)
	}
	if m.AuthUser != authUser {
		t.Errorf("auth user = %q, want %q", m.AuthUser, authUser)
	}
	if m.TLS == nil {
		t.Fatalf("sidecar %s records no TLS session", m.EnvelopePath)
	}
	if m.TLS.STARTTLS != starttls {
		t.Errorf("sidecar STARTTLS = %v, want %v", m.TLS.STARTTLS, starttls)
	}
	if !strings.HasPrefix(m.TLS.Version, "TLS 1.") || m.TLS.CipherSuite == "" {
		t.Errorf("sidecar TLS = %+v, want a TLS 1.x version and a cipher suite", *m.TLS)
	}
	js, err := os.ReadFile(m.EnvelopePath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), clientPassword) {
		t.Errorf("sidecar %s contains the password", m.EnvelopePath)
	}
}

func TestSwaksIntoEmbeddedServer(t *testing.T) {
	swaks := needBinary(t, "swaks", "swaks")
	ctx := testContext(t)
	srv := startEmbedded(t, server.Config{Users: map[string]string{clientUser: clientPassword}})
	dir := t.TempDir()
	wrongCA := unrelatedCA(t, dir)

	cases := []struct {
		name     string
		tlsFlag  string // --tls (STARTTLS) or --tlsc (implicit TLS)
		addr     string
		listener string
		auth     string
	}{
		{"starttls/PLAIN", "--tls", srv.SMTPAddr(), "smtp", "PLAIN"},
		{"starttls/LOGIN", "--tls", srv.SMTPAddr(), "smtp", "LOGIN"},
		{"implicit/PLAIN", "--tlsc", srv.SMTPSAddr(), "smtps", "PLAIN"},
		{"implicit/LOGIN", "--tlsc", srv.SMTPSAddr(), "smtps", "LOGIN"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := testMessage(fmt.Sprintf("swaks-%d", i))
			file := filepath.Join(dir, fmt.Sprintf("msg-%d.eml", i))
			// swaks always ends DATA with CRLF "." CRLF after the text it
			// was given, so a file ending in CRLF would gain an empty
			// line: hand it the message without its last line break.
			if err := os.WriteFile(file, msg[:len(msg)-2], 0o644); err != nil {
				t.Fatal(err)
			}
			host, port, _ := net.SplitHostPort(tc.addr)
			out, err := run(ctx, nil, swaks,
				"--server", host, "--port", port, tc.tlsFlag,
				"--tls-verify", "--tls-ca-path", srv.CAFile(),
				"--auth", tc.auth, "--auth-user", clientUser, "--auth-password", clientPassword,
				"--auth-hide-password",
				"--helo", "swaks.tlsmail.test",
				"--from", fromAddr, "--to", toAddr, "--data", "@"+file)
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			if strings.Contains(out, clientPassword) {
				t.Errorf("swaks output shows the password despite --auth-hide-password")
			}
			ms := srv.waitMessages(t, ctx, i+1)
			checkStored(t, ms[i], msg, tc.listener, tc.tlsFlag == "--tls", clientUser)
		})
	}

	// An unrelated CA: swaks (OpenSSL) must refuse the server's chain,
	// and nothing may be stored.
	for _, tc := range []struct{ name, flag, addr string }{
		{"starttls/unrelated-CA", "--tls", srv.SMTPAddr()},
		{"implicit/unrelated-CA", "--tlsc", srv.SMTPSAddr()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := srv.Messages()
			if err != nil {
				t.Fatal(err)
			}
			host, port, _ := net.SplitHostPort(tc.addr)
			out, err := run(ctx, nil, swaks,
				"--server", host, "--port", port, tc.flag,
				"--tls-verify", "--tls-ca-path", wrongCA,
				"--auth", "PLAIN", "--auth-user", clientUser, "--auth-password", clientPassword,
				"--auth-hide-password", "--from", fromAddr, "--to", toAddr)
			if err == nil {
				t.Fatalf("swaks verified the server against an unrelated CA:\n%s", out)
			}
			t.Logf("swaks refused, as it should:\n%s", lastLines(out, 3))
			if !strings.Contains(strings.ToLower(out), "certificate verify failed") {
				t.Errorf("swaks failed, but not on certificate verification (exit %d):\n%s", exitCode(err), out)
			}
			after, err := srv.Messages()
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Errorf("server stored %d messages after a failed verification", len(after)-len(before))
			}
		})
	}
}

// msmtprc writes an msmtp configuration file (mode 0600, as msmtp requires
// for a file holding a password).
func msmtprc(t *testing.T, dir, name, addr string, starttls bool, trustFile, auth string, extra ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	onOff := map[bool]string{true: "on", false: "off"}
	rc := strings.Join([]string{
		"defaults",
		"syslog off",
		"account interop",
		"host " + host,
		"port " + port,
		"domain msmtp.tlsmail.test",
		"tls on",
		"tls_starttls " + onOff[starttls],
		"tls_trust_file " + trustFile,
		"auth " + auth,
		"user " + clientUser,
		"password " + clientPassword,
		"from " + fromAddr,
	}, "\n") + "\n" + strings.Join(append(extra, "account default : interop", ""), "\n")
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMsmtpIntoEmbeddedServer(t *testing.T) {
	msmtp := needBinary(t, "msmtp", "msmtp")
	ctx := testContext(t)
	srv := startEmbedded(t, server.Config{Users: map[string]string{clientUser: clientPassword}})
	dir := t.TempDir()
	wrongCA := unrelatedCA(t, dir)

	const tls12 = "tls_priorities NORMAL:-VERS-ALL:+VERS-TLS1.2" // GnuTLS priority string
	cases := []struct {
		name        string
		starttls    bool
		addr        string
		listener    string
		auth        string
		extra       string // an extra msmtprc line
		wantVersion string // "" for any TLS 1.x
	}{
		{"starttls/plain", true, srv.SMTPAddr(), "smtp", "plain", "", ""},
		{"starttls/login", true, srv.SMTPAddr(), "smtp", "login", "", ""},
		{"implicit/plain", false, srv.SMTPSAddr(), "smtps", "plain", "", ""},
		{"implicit/login", false, srv.SMTPSAddr(), "smtps", "login", "", ""},
		{"starttls/TLS1.2/plain", true, srv.SMTPAddr(), "smtp", "plain", tls12, "TLS 1.2"},
		{"implicit/TLS1.2/login", false, srv.SMTPSAddr(), "smtps", "login", tls12, "TLS 1.2"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := testMessage(fmt.Sprintf("msmtp-%d", i))
			rc := msmtprc(t, dir, fmt.Sprintf("msmtprc-%d", i), tc.addr, tc.starttls, srv.CAFile(), tc.auth, tc.extra)
			out, err := run(ctx, msg, msmtp, "-C", rc, "-a", "interop", "--", toAddr)
			if err != nil {
				t.Fatalf("msmtp (exit %d): %v\n%s", exitCode(err), err, out)
			}
			ms := srv.waitMessages(t, ctx, i+1)
			checkStored(t, ms[i], msg, tc.listener, tc.starttls, clientUser)
			if tc.wantVersion != "" && ms[i].TLS != nil && ms[i].TLS.Version != tc.wantVersion {
				t.Errorf("sidecar TLS version %q, want %q", ms[i].TLS.Version, tc.wantVersion)
			}
		})
	}

	// tls_trust_file pointing at an unrelated CA: msmtp (GnuTLS) must
	// refuse the chain our server presents, before any AUTH or MAIL.
	for _, tc := range []struct {
		name     string
		starttls bool
		addr     string
	}{
		{"starttls/unrelated-CA", true, srv.SMTPAddr()},
		{"implicit/unrelated-CA", false, srv.SMTPSAddr()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := srv.Messages()
			if err != nil {
				t.Fatal(err)
			}
			rc := msmtprc(t, dir, "msmtprc-"+strings.ReplaceAll(tc.name, "/", "-"), tc.addr, tc.starttls, wrongCA, "plain")
			out, err := run(ctx, testMessage("msmtp-wrong-ca"), msmtp, "-C", rc, "-a", "interop", "--", toAddr)
			if err == nil {
				t.Fatalf("msmtp sent although the server's chain does not lead to its trust file:\n%s", out)
			}
			t.Logf("msmtp refused, as it should: %s", strings.TrimSpace(out))
			if !strings.Contains(strings.ToLower(out), "certificate") {
				t.Errorf("msmtp failed (exit %d), but not on the certificate:\n%s", exitCode(err), out)
			}
			after, err := srv.Messages()
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Errorf("server stored %d messages after a failed verification", len(after)-len(before))
			}
		})
	}
}
