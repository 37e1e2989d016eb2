package config

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigSearchLocate(t *testing.T) {
	put := func(path, text string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	home := t.TempDir()
	sys := filepath.Join(t.TempDir(), "msmtprc")
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	s := Search{SystemFile: sys, Getenv: getenv, Home: home}

	if _, err := s.Locate(); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), sys) || !strings.Contains(err.Error(), ".msmtprc") {
		t.Errorf("nothing there: %v", err)
	}
	want := func(name string, system, user string) {
		t.Helper()
		f, err := s.Locate()
		if err != nil || f.System != system || f.User != user {
			t.Errorf("%s: Locate = %+v, %v; want system %q user %q", name, f, err, system, user)
		}
	}
	put(sys, "account default\nhost sys\n")
	want("system only", sys, "")
	own := put(filepath.Join(home, ".config", "tlsmail", "config"), "account default\nhost own\n")
	want("tlsmail's own", sys, own)
	xdgDefault := put(filepath.Join(home, ".config", "msmtp", "config"), "account default\nhost xdg\n")
	want("msmtp's XDG file before tlsmail's", sys, xdgDefault)
	env["XDG_CONFIG_HOME"] = filepath.Join(home, "xdg")
	xdg := put(filepath.Join(home, "xdg", "msmtp", "config"), "account default\nhost xdg\n")
	want("XDG_CONFIG_HOME", sys, xdg)
	dot := put(filepath.Join(home, ".msmtprc"), "account default\nhost dot\n")
	want("~/.msmtprc first", sys, dot)
	env["TLSMAIL_CONFIG"] = "~/named"
	want("TLSMAIL_CONFIG, even missing", sys, filepath.Join(home, "named"))
	s.Explicit = "~/missing"
	want("explicit, even missing", sys, filepath.Join(home, "missing"))
	s.SystemFile = ""
	want("no system file", "", filepath.Join(home, "missing"))
}

func TestConfigLoadFoundMerges(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "system")
	user := filepath.Join(dir, "user")
	if err := os.WriteFile(sys, []byte("account default\nhost sys.example\nfrom root@sys.example\n\naccount cron\nhost cron.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, []byte("account default\nhost user.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFound(context.Background(), Found{System: sys, User: user}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"cron", "default"}) {
		t.Errorf("accounts %q", got)
	}
	if a, _ := f.Account(""); a.Host != "user.example" || a.File != user {
		t.Errorf("default %s from %s: the user file's must win", a.Host, a.File)
	}
	if a, _ := f.Account("cron"); a.File != sys {
		t.Errorf("cron from %s", a.File)
	}
	if f, err := LoadFound(context.Background(), Found{System: sys}, Options{}); err != nil || f.Path != sys {
		t.Errorf("system only: %v %v", f, err)
	}
	if _, err := LoadFound(context.Background(), Found{System: sys, User: filepath.Join(dir, "nope")}, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing user file: %v", err)
	}
}

func TestConfigEnvAccount(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if EnvAccount(getenv) != nil {
		t.Error("an account without SMTPSERVER")
	}
	env["SMTPSERVER"] = "mail.example.com"
	env["EMAIL"] = "me@example.com"
	a := EnvAccount(getenv)
	if a == nil || a.Host != "mail.example.com" || a.From != "me@example.com" || a.TLS || a.Auth != "" || a.ServerPort() != 25 || a.File != "" || a.Check() != nil {
		t.Errorf("EnvAccount = %+v", a)
	}
	f := &File{Accounts: []*Account{{Name: "work", Host: "w"}}}
	if got, err := f.SelectEnv("", "", getenv); err != nil || got.Host != "mail.example.com" {
		t.Errorf("no default: %v %v", got, err)
	}
	if _, err := f.SelectEnv("other", "", getenv); err == nil {
		t.Error("a named account that does not exist must stay an error")
	}
	f.Accounts = append(f.Accounts, &Account{Name: "default", Host: "d"})
	if got, _ := f.SelectEnv("", "", getenv); got.Host != "d" {
		t.Errorf("the default account must win over the environment: %v", got)
	}
}

// TestLocateSearchesAgree: config.Locate and Search.Locate are one search
// (locate) with their own candidates: the same not-found error listing
// what was tried, the same *Error for a path that cannot be examined (here
// XDG_CONFIG_HOME is a regular file, so stat fails with ENOTDIR), and
// TLSMAIL_CONFIG returned unexamined by both.
func TestLocateSearchesAgree(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	search := Search{Getenv: getenv, Home: home}

	_, err1 := Locate("", getenv, home)
	_, err2 := search.Locate()
	for _, err := range []error{err1, err2} {
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(home, ".msmtprc")) ||
			!strings.Contains(err.Error(), filepath.Join(home, ".config", "tlsmail", "config")) {
			t.Errorf("nothing there: %v", err)
		}
	}

	file := filepath.Join(home, "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env["XDG_CONFIG_HOME"] = file
	_, err1 = Locate("", getenv, home)
	_, err2 = search.Locate()
	for i, err := range []error{err1, err2} {
		var ce *Error
		if !errors.As(err, &ce) || errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(ce.File, file) || !strings.Contains(err.Error(), "cannot read configuration file") {
			t.Errorf("search %d, unexaminable path: %v", i, err)
		}
	}

	env["TLSMAIL_CONFIG"] = "~/named"
	p, err1 := Locate("", getenv, home)
	f, err2 := search.Locate()
	if want := filepath.Join(home, "named"); p != want || f.User != want || err1 != nil || err2 != nil {
		t.Errorf("TLSMAIL_CONFIG: %q %v, %q %v", p, err1, f.User, err2)
	}
}
