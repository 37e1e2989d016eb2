//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestConfigSecretFallsBackToNetrc: an item queued while its account had a
// passwordeval is delivered after the user moved the password to
// ~/.netrc (removing passwordeval, as msmtp allows): the account read
// again has no password, so its password comes from netrc for the item's
// host and user, as a fresh send would take it (FromConfig), rather than
// failing with "no longer has a password or passwordeval".
func TestConfigSecretFallsBackToNetrc(t *testing.T) {
	home := t.TempDir()
	rc := filepath.Join(t.TempDir(), "msmtprc")
	if err := os.WriteFile(rc, []byte("account a\nhost mail.example.org\nauth on\nuser ann\nfrom ann@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine mail.example.org login ann password from-netrc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "TLSMAIL_SYSTEM_CONFIG": filepath.Join(t.TempDir(), "msmtprc")}
	c := &Connector{Getenv: func(k string) string { return env[k] }}
	a := &Account{ConfigFile: rc, Name: "a", Host: "mail.example.org", Port: 587,
		Auth: Auth{Mechanism: "AUTO", User: "ann", Secret: SecretRef{Source: SecretConfig, Ref: "a"}}}
	if pw, err := c.Secret(context.Background(), a, a.Auth.Secret); pw != "from-netrc" || err != nil {
		t.Errorf("Secret = %q, %v; want the netrc password", pw, err)
	}
}
