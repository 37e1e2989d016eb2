package submit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestFromConfigSecretRef: the password of a configuration account is
// read for a message sent now as the account says (its passwordeval run,
// its password read from the file again, else netrc), and the outbox
// keeps a reference to the account when there is a file to read it from
// again (Stored, and the JSON). An account read from no file (msmtp's
// EMAIL and SMTPSERVER one, with --passwordeval) keeps its command: before,
// FromConfig referred to an account it had no file for, and the password
// could not be read at all.
func TestFromConfigSecretRef(t *testing.T) {
	dir := testdir.New(t)
	const secret = "s3cret-from-the-account"
	rc := filepath.Join(dir, "msmtprc")
	const base = "host mail.example.org\nauth on\nuser ann\n"
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cat := "cat " + pwFile // the passwordeval command
	if runtime.GOOS == "windows" {
		cat = "type " + pwFile
	}
	text := "account eval\n" + base + "passwordeval " + cat + "\n\n" +
		"account literal\n" + base + "password " + secret + "\n\n" +
		"account none\n" + base
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	home := testdir.New(t)
	if err := os.WriteFile(config.NetrcFiles(home, "")[0], []byte("machine mail.example.org login ann password "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "TLSMAIL_SYSTEM_CONFIG": filepath.Join(dir, "no-system-file")}
	c := &Connector{Getenv: func(k string) string { return env[k] }}
	f, err := config.Load(context.Background(), rc, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		account string
		file    string // the file FromConfig is given
		now     SecretRef
		stored  SecretRef
	}{
		{"eval", rc, SecretRef{Source: SecretCommand, Ref: cat, Name: "passwordeval (" + rc + ")", Config: true},
			SecretRef{Source: SecretConfig, Ref: "eval"}},
		{"literal", rc, SecretRef{Source: SecretConfig, Ref: "literal"}, SecretRef{Source: SecretConfig, Ref: "literal"}},
		{"none", rc, SecretRef{Source: SecretNetrc, Config: true}, SecretRef{Source: SecretConfig, Ref: "none"}},
		{"eval", "", SecretRef{Source: SecretCommand, Ref: cat, Name: "passwordeval"},
			SecretRef{Source: SecretCommand, Ref: cat}},
		{"none", "", SecretRef{Source: SecretNetrc}, SecretRef{Source: SecretNetrc}},
	} {
		t.Run(tc.account+" file "+tc.file, func(t *testing.T) {
			ca, err := f.Account(tc.account)
			if err != nil {
				t.Fatal(err)
			}
			a, err := FromConfig(tc.file, ca)
			if err != nil {
				t.Fatal(err)
			}
			if a.Auth.Secret != tc.now {
				t.Errorf("FromConfig secret = %+v, want %+v", a.Auth.Secret, tc.now)
			}
			if pw, err := c.Secret(context.Background(), &a, a.Auth.Secret); pw != secret || err != nil {
				t.Errorf("read now: %q, %v; want the account's password", pw, err)
			}
			s := a.Stored()
			if s.Auth.Secret != tc.stored {
				t.Errorf("Stored secret = %+v, want %+v", s.Auth.Secret, tc.stored)
			}
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), secret) {
				t.Errorf("the Account's JSON holds the password: %s", b)
			}
			var back Account
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Auth.Secret != tc.stored || back.Key() != a.Key() {
				t.Errorf("the outbox keeps %+v (key %s), want %+v (key %s)", back.Auth.Secret, back.Key(), tc.stored, a.Key())
			}
			if pw, err := c.Secret(context.Background(), &back, back.Auth.Secret); pw != secret || err != nil {
				t.Errorf("read again at delivery: %q, %v; want the account's password", pw, err)
			}
		})
	}
}

// TestConfigSecretErrorSource: a configuration account's passwordeval that
// fails is reported with Source SecretConfig, run now as when its queued
// item is delivered, so that a program names the account's setting for
// it, not its own password command's.
func TestConfigSecretErrorSource(t *testing.T) {
	dir := testdir.New(t)
	rc := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(rc, []byte("account a\nhost mail.example.org\nauth on\nuser ann\npasswordeval exit 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(context.Background(), rc, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := f.Account("a")
	a, err := FromConfig(rc, ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range []Account{a, a.Stored()} {
		_, err := (&Connector{}).Secret(context.Background(), &acct, acct.Auth.Secret)
		var se *Error
		if !errors.As(err, &se) || se.Source != SecretConfig || se.Field != "secret_command" ||
			!strings.Contains(se.Msg, "passwordeval ("+rc+") command failed") {
			t.Errorf("secret %+v: %v (%+v); want a secret_command error of source config naming the passwordeval", acct.Auth.Secret, err, se)
		}
	}
}

// TestConfigSecretWithoutFile: a password written in an account read from
// no file (FromConfig with file "") cannot be read again: Check refuses
// the Account, so that Enqueue queues nothing (Classify would defer its
// configuration error until the item expired) and a send says why before
// connecting. Before, the item was queued and every delivery failed with
// "cannot read configuration file".
func TestConfigSecretWithoutFile(t *testing.T) {
	f, err := config.Parse(context.Background(), "", strings.NewReader("account a\nhost mail.example.org\ntls on\ntls_starttls on\nauth on\nuser ann\npassword s3cret\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := f.Account("a")
	a, err := FromConfig("", ca)
	if err != nil {
		t.Fatal(err)
	}
	var se *Error
	if err := a.Check(); !errors.As(err, &se) || se.Field != "secret" {
		t.Errorf("Check = %v; want an *Error of Field secret", err)
	}
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := Enqueue(context.Background(), q, &a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n")); err == nil || id != "" || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Enqueue = %q, %v; want a refusal without the password", id, err)
	}
}

// TestConnectorLoaded: a SecretConfig reference to an account of
// Connector.Loaded (same file, by its absolute path, and name) takes the
// password from the account read, without reading the file again (whose
// eval line would run again: here the file is gone, so reading it fails);
// another account of the file, or the account of another file, is read
// from its file as before.
func TestConnectorLoaded(t *testing.T) {
	dir := testdir.New(t)
	rc := filepath.Join(dir, "msmtprc")
	text := "account a\nhost mail.example.org\nauth on\nuser ann\npassword from-the-file\n\n" +
		"account b\nhost mail.example.org\nauth on\nuser bob\npassword b-from-the-file\n"
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(context.Background(), rc, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := f.Account("a")
	if err != nil {
		t.Fatal(err)
	}
	loaded = loaded.Clone()
	loaded.Password = "as-read" // tells the copy from the file
	env := map[string]string{"HOME": testdir.New(t), "TLSMAIL_SYSTEM_CONFIG": filepath.Join(dir, "no-system-file")}
	c := &Connector{Getenv: func(k string) string { return env[k] }, Loaded: []*config.Account{loaded}}
	ctx := context.Background()
	for _, tc := range []struct {
		file, name, want string
	}{
		{rc, "a", "as-read"},
		{filepath.Join(dir, ".", "msmtprc"), "a", "as-read"}, // the same file, named otherwise
		{rc, "b", "b-from-the-file"},
	} {
		a := &Account{ConfigFile: tc.file, Name: tc.name, Host: "mail.example.org", Auth: Auth{User: "x"}}
		pw, err := c.Secret(ctx, a, SecretRef{Source: SecretConfig, Ref: tc.name})
		if err != nil || pw != tc.want {
			t.Errorf("%s account %s: %q, %v; want %q", tc.file, tc.name, pw, err, tc.want)
		}
	}
	// Another file with an account of the same name: read from it.
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("account a\nhost h\nauth on\nuser ann\npassword other-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := c.Secret(ctx, &Account{ConfigFile: other, Name: "a", Host: "h"}, SecretRef{Source: SecretConfig, Ref: "a"}); err != nil || pw != "other-file" {
		t.Errorf("account a of another file: %q, %v", pw, err)
	}
	// The loaded account is used even when its file is gone (no second read).
	if err := os.Remove(rc); err != nil {
		t.Fatal(err)
	}
	if pw, err := c.Secret(ctx, &Account{ConfigFile: rc, Name: "a", Host: "mail.example.org"}, SecretRef{Source: SecretConfig, Ref: "a"}); err != nil || pw != "as-read" {
		t.Errorf("loaded account, file removed: %q, %v", pw, err)
	}
}
