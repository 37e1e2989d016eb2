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
	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestConfigSecretHostChanged: a queued item keeps a reference to its
// configuration account (SecretConfig) and the host it connects to. When
// the file's account names another host by the time of delivery (the user
// moved the account to a new provider, with that provider's password),
// the password now in the file is not sent to the item's old host: reading
// it is an *Error naming both hosts. The host given over the file's at
// enqueue (send --server) is no such change: the password is read. Before,
// the new provider's password went to the old host.
func TestConfigSecretHostChanged(t *testing.T) {
	dir := testdir.New(t)
	rc := filepath.Join(dir, "msmtprc")
	write := func(host, pw string) {
		t.Helper()
		text := "account work\nhost " + host + "\nauth on\nuser ann\npassword " + pw + "\n"
		if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	queue := func(server string) Account {
		t.Helper()
		f, err := config.Load(context.Background(), rc, config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ca, err := f.Account("work")
		if err != nil {
			t.Fatal(err)
		}
		a, err := FromConfig(rc, ca)
		if err != nil {
			t.Fatal(err)
		}
		if server != "" {
			a.Host = server // send --server over the file's host
		}
		s := a.Stored()
		b, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		var back Account
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		return back
	}
	env := map[string]string{"HOME": testdir.New(t), "TLSMAIL_SYSTEM_CONFIG": filepath.Join(dir, "no-system-file")}
	c := &Connector{Getenv: func(k string) string { return env[k] }}

	write("old.example.org", "old-password")
	item := queue("")
	override := queue("relay.example.net")
	write("new.example.com", "new-provider-password")
	pw, err := c.Secret(context.Background(), &item, item.Auth.Secret)
	var se *Error
	if pw != "" || !errors.As(err, &se) || !strings.Contains(se.Msg, "new.example.com") || !strings.Contains(se.Msg, "old.example.org") {
		t.Errorf("account moved to another host: read %q, %v; want no password and an *Error naming both hosts", pw, err)
	}
	if err != nil && strings.Contains(err.Error(), "new-provider-password") {
		t.Errorf("the error holds the password: %v", err)
	}
	if pw, err := c.Secret(context.Background(), &override, override.Auth.Secret); err == nil || pw != "" {
		t.Errorf("--server item, account moved: read %q, %v; want an error", pw, err)
	}

	// The account read already by the program (Connector.Loaded: a
	// later send delivering the backlog) is held to the same rule.
	f, err := config.Load(context.Background(), rc, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now, err := f.Account("work")
	if err != nil {
		t.Fatal(err)
	}
	loaded := &Connector{Getenv: c.Getenv, Loaded: []*config.Account{now}}
	if pw, err := loaded.Secret(context.Background(), &item, item.Auth.Secret); err == nil || pw != "" {
		t.Errorf("account moved, read already (Loaded): %q, %v; want an error", pw, err)
	}

	write("old.example.org", "changed-password")
	if pw, err := c.Secret(context.Background(), &item, item.Auth.Secret); pw != "changed-password" || err != nil {
		t.Errorf("same host, new password: %q, %v; want the new password", pw, err)
	}
	if pw, err := c.Secret(context.Background(), &override, override.Auth.Secret); pw != "changed-password" || err != nil {
		t.Errorf("--server item, file's host unchanged: %q, %v; want the password", pw, err)
	}
}
