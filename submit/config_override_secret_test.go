package submit

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestFromConfigPasswordevalOverride: an account chosen with msmtp's
// --passwordeval override (config.Search.Select with Overrides) keeps that
// command as its password's reference. Before, FromConfig stored a
// reference to the account, so a queued item read the file's own
// password at delivery while the message sent at once used the command's.
func TestFromConfigPasswordevalOverride(t *testing.T) {
	dir := testdir.New(t)
	rc := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(rc, []byte("account a\nhost mail.example.org\nauth on\nuser ann\npassword filepw\naccount default : a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const cmd = "echo cmdpw" // cmd.exe and sh alike
	env := map[string]string{"HOME": dir, "TLSMAIL_SYSTEM_CONFIG": filepath.Join(dir, "none")}
	s := config.Search{Explicit: rc, Home: dir, Getenv: func(k string) string { return env[k] }}
	a, err := s.Select(context.Background(), config.Selection{Account: "a",
		Overrides: config.Overrides{{Key: "passwordeval", Arg: cmd}}})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := FromConfig(a.File, a)
	if err != nil {
		t.Fatal(err)
	}
	stored := acct.Stored().Auth.Secret
	if stored.Source != SecretCommand || stored.Ref != cmd {
		t.Fatalf("stored secret = %+v; want the command %q (the override), not a reference to the account", stored, cmd)
	}
	c := &Connector{Getenv: func(k string) string { return env[k] }}
	q := acct.Stored()
	pw, err := c.Secret(context.Background(), &q, q.Auth.Secret)
	if err != nil || pw != "cmdpw" {
		t.Errorf("password read at delivery = %q, %v; want cmdpw", pw, err)
	}
}
