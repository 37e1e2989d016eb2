//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/config"
)

// An msmtp account with auth and user and no password reads it from
// ~/.netrc, then from netrc beside the system configuration file, as msmtp
// does; the reference survives the outbox's JSON; a file readable by
// others is refused when its entry would be used; a file that cannot be
// opened, or whose entry has no password, is passed over for the next
// one, as msmtp does; a missing entry says what to add.
func TestNetrcSecret(t *testing.T) {
	home, sys := t.TempDir(), t.TempDir()
	write := func(path, text string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	f, err := config.Parse(context.Background(), "msmtprc", strings.NewReader("account default\nhost mail.example.org\nauth on\nuser ann\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := f.Account("")
	// No file to read the account again from (the EMAIL and SMTPSERVER
	// account): the reference is to netrc itself.
	a, err := FromConfig("", ca)
	if err != nil {
		t.Fatal(err)
	}
	if a.Auth.Secret != (SecretRef{Source: SecretNetrc}) {
		t.Fatalf("secret %+v, want netrc", a.Auth.Secret)
	}
	var back Account
	b, err := json.Marshal(a)
	if err == nil {
		err = json.Unmarshal(b, &back)
	}
	if err != nil || back.Auth.Secret != a.Auth.Secret {
		t.Fatalf("the netrc reference does not survive the outbox: %+v, %v", back.Auth.Secret, err)
	}
	env := map[string]string{"HOME": home, "TLSMAIL_SYSTEM_CONFIG": filepath.Join(sys, "msmtprc")}
	c := &Connector{Getenv: func(k string) string { return env[k] }}
	secret := func() (string, error) { return c.Secret(context.Background(), &a, a.Auth.Secret) }
	field := func(err error) string {
		var e *Error
		if errors.As(err, &e) {
			return e.Field
		}
		return "not a *submit.Error: " + err.Error()
	}

	// Neither file: the error names both and what to add.
	if _, err := secret(); field(err) != "netrc" || !strings.Contains(err.Error(), "machine mail.example.org login ann") {
		t.Errorf("no netrc file: %v", err)
	}
	// The system file alone.
	write(filepath.Join(sys, "netrc"), "machine mail.example.org login ann password from-system\n", 0o600)
	if pw, err := secret(); pw != "from-system" || err != nil {
		t.Errorf("system netrc: %q, %v", pw, err)
	}
	// ~/.netrc without the entry: the system file still answers.
	write(filepath.Join(home, ".netrc"), "machine mail.example.org login bob password x\n", 0o600)
	if pw, err := secret(); pw != "from-system" || err != nil {
		t.Errorf("~/.netrc without the entry: %q, %v", pw, err)
	}
	// ~/.netrc with it wins.
	write(filepath.Join(home, ".netrc"), "machine mail.example.org login ann password from-home\n", 0o600)
	if pw, err := secret(); pw != "from-home" || err != nil {
		t.Errorf("~/.netrc: %q, %v", pw, err)
	}
	// Readable by others: refused, never read out.
	write(filepath.Join(home, ".netrc"), "machine mail.example.org login ann password from-home\n", 0o644)
	if pw, err := secret(); pw != "" || field(err) != "netrc_file_mode" || strings.Contains(err.Error(), "from-home") {
		t.Errorf("~/.netrc mode 0644: %q, %v", pw, err)
	}
	// An entry without a password: as msmtp, the next file is read (a
	// later entry of the same file is not: the first match is the one).
	write(filepath.Join(home, ".netrc"), "machine mail.example.org login ann\nmachine mail.example.org login ann password later\n", 0o600)
	if pw, err := secret(); pw != "from-system" || err != nil {
		t.Errorf("entry without password, then the system file: %q, %v", pw, err)
	}
	// A ~/.netrc that cannot be read (here a directory; permission
	// denied is the same path, untestable as root) is skipped as msmtp
	// skips it, and the system file answers.
	os.Remove(filepath.Join(home, ".netrc"))
	if err := os.Mkdir(filepath.Join(home, ".netrc"), 0o700); err != nil {
		t.Fatal(err)
	}
	if pw, err := secret(); pw != "from-system" || err != nil {
		t.Errorf("~/.netrc a directory, then the system file: %q, %v", pw, err)
	}
	// Neither gives a password: the error says why each was passed over.
	write(filepath.Join(sys, "netrc"), "machine mail.example.org login ann\n", 0o644)
	if _, err := secret(); field(err) != "netrc" || !strings.Contains(err.Error(), "was skipped") || !strings.Contains(err.Error(), "has no password") {
		t.Errorf("a directory and an entry without password: %v", err)
	}
	os.Remove(filepath.Join(home, ".netrc"))
	// A named file (Ref) is read alone.
	named := filepath.Join(t.TempDir(), "netrc")
	write(named, "machine mail.example.org login ann password named\n", 0o600)
	a.Auth.Secret.Ref = named
	if pw, err := secret(); pw != "named" || err != nil {
		t.Errorf("named netrc: %q, %v", pw, err)
	}
}

// A queued message from a configuration account finds its password as
// msmtp would at delivery: the account is read again, and its password or
// passwordeval is used, else the netrc entry. So the fix the netrc error
// gives ("give the account a passwordeval") heals a message already
// queued, and an account whose passwordeval gave way to ~/.netrc still
// delivers what it queued.
func TestQueuedConfigAccountNetrcFallback(t *testing.T) {
	home := t.TempDir()
	file := filepath.Join(t.TempDir(), "msmtprc")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const base = "account default\nhost mail.example.org\nauth on\nuser ann\n"
	account := func() Account {
		t.Helper()
		f, err := config.Load(context.Background(), file, config.Options{Home: home})
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := f.Account("")
		a, err := FromConfig(file, ca)
		if err != nil {
			t.Fatal(err)
		}
		// As the outbox keeps it: FromConfig's Account reads the
		// passwordeval or netrc now; its JSON names the account.
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var queued Account
		if err := json.Unmarshal(b, &queued); err != nil {
			t.Fatal(err)
		}
		return queued
	}
	env := map[string]string{"HOME": home, "TLSMAIL_SYSTEM_CONFIG": filepath.Join(t.TempDir(), "msmtprc")}
	c := &Connector{Getenv: func(k string) string { return env[k] }}

	// Queued with no password anywhere; then the account gets one.
	write(file, base)
	queued := account()
	if _, err := c.Secret(context.Background(), &queued, queued.Auth.Secret); err == nil {
		t.Fatal("no password and no netrc: no error")
	}
	write(file, base+"passwordeval echo added-later\n")
	if pw, err := c.Secret(context.Background(), &queued, queued.Auth.Secret); pw != "added-later" || err != nil {
		t.Errorf("passwordeval added after queueing: %q, %v; want the account's passwordeval", pw, err)
	}

	// Queued with a passwordeval; then it moves to ~/.netrc.
	queued = account()
	write(file, base)
	write(filepath.Join(home, ".netrc"), "machine mail.example.org login ann password from-netrc\n")
	if pw, err := c.Secret(context.Background(), &queued, queued.Auth.Secret); pw != "from-netrc" || err != nil {
		t.Errorf("passwordeval removed, ~/.netrc has the entry: %q, %v; want the netrc password", pw, err)
	}
}
