package config

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSearchSelect: the account msmtp's sendmail mode uses, in msmtp's
// order: the files (the user file's account replacing the system file's),
// the account by name, by -f, or the default, else the environment's; then
// the command line's account options, -f replacing from when
// allow_from_override lets it, and %U %H %C %M expanded. --host makes a
// new account without reading any file; a refused option is an
// *OverrideError naming it, and the file's account is never changed.
func TestSearchSelect(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	etc := t.TempDir()
	sys := filepath.Join(etc, "msmtprc")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(sys, "account default\nhost sys.example\nfrom sys@example.org\n\naccount work\nhost work-sys.example\n")
	user := filepath.Join(home, ".msmtprc")
	write(user, "account work\nhost work.example\nfrom %U@work.example\nallow_from_override off\n\n"+
		"account free\nhost free.example\nfrom free@example.org\ndomain %M\n")
	write(filepath.Join(etc, "mailname"), "mail.example\n")
	env := map[string]string{"USER": "joe"}
	s := Search{SystemFile: sys, Getenv: func(k string) string { return env[k] }, Home: home}
	ctx := context.Background()

	tests := []struct {
		name             string
		search           Search
		sel              Selection
		host, from, file string
		port             int
		wantErr          func(error) bool
	}{
		{name: "default from the system file", search: s, host: "sys.example", from: "sys@example.org", file: sys, port: 25},
		{name: "the user file's account replaces the system's", search: s, sel: Selection{Account: "work"},
			host: "work.example", from: "joe@work.example", file: user, port: 25},
		{name: "by -f", search: s, sel: Selection{From: "free@example.org"}, host: "free.example", from: "free@example.org", file: user, port: 25},
		{name: "-f replaces from when allowed", search: s, sel: Selection{Account: "free", From: "other@example.org"},
			host: "free.example", from: "other@example.org", file: user, port: 25},
		{name: "-f does not replace from when not allowed", search: s, sel: Selection{Account: "work", From: "other@example.org"},
			host: "work.example", from: "joe@work.example", file: user, port: 25},
		{name: "overrides in order", search: s, sel: Selection{Account: "work", Overrides: Overrides{{"port", "2525"}, {"port", "2526"}, {"host", "x.example"}}},
			host: "x.example", file: "", port: 2526},
		{name: "--host reads no file", search: Search{Explicit: filepath.Join(home, "missing"), Getenv: s.Getenv, Home: home},
			sel: Selection{Overrides: Overrides{{"host", "h.example"}, {"from", "f@example.org"}}}, host: "h.example", from: "f@example.org", port: 25},
		{name: "a refused option", search: s, sel: Selection{Overrides: Overrides{{"port", "none"}}},
			wantErr: func(err error) bool {
				var oe *OverrideError
				var ce *Error
				return errors.As(err, &oe) && oe.Key == "port" && oe.Arg == "none" && errors.As(err, &ce)
			}},
		{name: "no file and no SMTPSERVER", search: Search{Getenv: s.Getenv, Home: t.TempDir()},
			wantErr: func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
	}
	for _, tc := range tests {
		a, err := tc.search.Select(ctx, tc.sel)
		if tc.wantErr != nil {
			if err == nil || !tc.wantErr(err) {
				t.Errorf("%s: err = %v (%T)", tc.name, err, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if a.Host != tc.host || a.From != tc.from || a.File != tc.file || a.ServerPort() != tc.port {
			t.Errorf("%s: host %q from %q file %q port %d; want %q %q %q %d", tc.name, a.Host, a.From, a.File, a.ServerPort(),
				tc.host, tc.from, tc.file, tc.port)
		}
	}

	// %M from the mailname file beside the system file.
	a, err := s.Select(ctx, Selection{Account: "free"})
	if err != nil || a.Domain != "mail.example" {
		t.Errorf("domain %%M = %q (%v), want mail.example", a.Domain, err)
	}
	// The file's account is a copy: selecting again sees it unchanged.
	if _, err := s.Select(ctx, Selection{Account: "free", Overrides: Overrides{{"port", "2525"}}}); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Select(ctx, Selection{Account: "free"}); err != nil || a.ServerPort() != 25 {
		t.Errorf("an override changed the file's account: port %d (%v)", a.ServerPort(), err)
	}

	// No file, no account named, SMTPSERVER set: the environment's.
	env["SMTPSERVER"], env["EMAIL"] = "env.example", "e@example.org"
	a, err = Search{Getenv: s.Getenv, Home: t.TempDir()}.Select(ctx, Selection{})
	if err != nil || a.Host != "env.example" || a.From != "e@example.org" || a.File != "" {
		t.Errorf("environment account: %+v, %v", a, err)
	}
}
