package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	mailname := filepath.Join(dir, "mailname")
	if err := os.WriteFile(mailname, []byte("mail.example.org\r\nsecond line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	x := Expander{
		Getenv:    env("USER", "joe", "LOGNAME", "other", "HOSTNAME", "box"),
		Hostname:  func() (string, error) { return "system-name", nil },
		LoginName: func() (string, error) { return "login", nil },
		Canonical: func(_ context.Context, h string) (string, error) { return h + ".example.net.", nil },
		Mailname:  mailname,
	}
	noEnv := x
	noEnv.Getenv = env()
	logname := x
	logname.Getenv = env("LOGNAME", "lg")
	noCanon := x
	noCanon.Canonical = func(context.Context, string) (string, error) { return "", errors.New("no such host") }
	control := x
	control.Getenv = env("USER", "a\nb", "HOSTNAME", "h\x7f")
	noMailname := x
	noMailname.Mailname = filepath.Join(dir, "missing")
	emptyMailname := x
	emptyMailname.Mailname = empty
	tests := []struct {
		name       string
		x          Expander
		from, dom  string
		sendmail   bool
		wantFrom   string
		wantDomain string
		wantErr    string // the key in the *Error
	}{
		{"Debian's system example", x, "%U@oursite.example", "localhost", true, "joe@oursite.example", "localhost", ""},
		{"domain %H", x, "a@example.com", "%H", true, "a@example.com", "box", ""},
		{"domain %C", x, "", "%C", true, "", "box.example.net", ""},
		{"%U is not expanded in domain", x, "", "%U.%H", true, "", "%U.box", ""},
		{"from %U@%M", x, "%U@%M", "%M", true, "joe@mail.example.org", "mail.example.org", ""},
		{"from is expanded in sendmail mode only", x, "%U@%H", "%H", false, "%U@%H", "box", ""},
		{"every occurrence", x, "%U.%U@%H", "%H.%H", true, "joe.joe@box", "box.box", ""},
		{"LOGNAME when USER is unset", logname, "%U@x", "%H", true, "lg@x", "system-name", ""},
		{"login name and system host name", noEnv, "%U@%H", "%C", true, "login@system-name", "system-name.example.net", ""},
		{"canonical name unknown: the host name", noCanon, "", "%C", true, "", "box", ""},
		{"control characters become ?", control, "%U@%H", "", true, "a?b@h?", "", ""},
		{"no patterns, no mailname needed", noMailname, "a@example.com", "client.example", true, "a@example.com", "client.example", ""},
		{"missing mailname", noMailname, "a@example.com", "%M", true, "", "", "domain"},
		{"empty mailname", emptyMailname, "%U@%M", "localhost", true, "", "", "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAccount("a")
			a.From, a.Domain = tc.from, tc.dom
			err := a.Expand(context.Background(), tc.x, tc.sendmail)
			if tc.wantErr != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != tc.wantErr || ce.Fix == "" || !strings.Contains(ce.Msg, "%M") {
					t.Fatalf("want a *Error for %s, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.From != tc.wantFrom || a.Domain != tc.wantDomain {
				t.Errorf("from %q domain %q, want %q %q", a.From, a.Domain, tc.wantFrom, tc.wantDomain)
			}
		})
	}
}

func TestEnvelopeFrom(t *testing.T) {
	tests := []struct {
		name, from string
		override   bool
		cmdline    string
		want       string
		err        bool
	}{
		{"-f overrides from", "acct@example.com", true, "f@example.com", "f@example.com", false},
		{"no -f: from", "acct@example.com", true, "", "acct@example.com", false},
		{"nothing: the message decides", "", true, "", "", false},
		{"a pattern only picks the account", "*@example.com", true, "", "", false},
		{"allow_from_override off: from, whatever -f says", "acct@example.com", false, "f@example.com", "acct@example.com", false},
		{"allow_from_override off without from", "", false, "f@example.com", "", true},
		{"allow_from_override off with a pattern", "*@example.com", false, "f@example.com", "", true},
	}
	for _, tc := range tests {
		a := NewAccount("a")
		a.From, a.AllowFromOverride = tc.from, tc.override
		got, err := a.EnvelopeFrom(tc.cmdline)
		var ce *Error
		if got != tc.want || (err != nil) != tc.err || (err != nil && (!errors.As(err, &ce) || ce.Fix == "")) {
			t.Errorf("%s: %q, %v; want %q (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestAllowFromOverrideInheritance: as msmtp's override_account,
// allow_from_override comes from defaults and never from a parent account,
// and a child whose allow_from_override is off keeps its own (unset) from.
func TestAllowFromOverrideInheritance(t *testing.T) {
	text := "account a\nhost h\nfrom a@example.com\nallow_from_override off\n" +
		"account b : a\n" +
		"defaults\nallow_from_override off\n" +
		"account c : a\n" +
		"account d\nhost h\nfrom d@example.com\n"
	f, err := Parse(context.Background(), "test.rc", strings.NewReader(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		name     string
		override bool
		from     string
	}{{"a", false, "a@example.com"}, {"b", true, "a@example.com"}, {"c", false, ""}, {"d", false, "d@example.com"}} {
		a, err := f.Account(want.name)
		if err != nil {
			t.Fatal(err)
		}
		if a.AllowFromOverride != want.override || a.From != want.from {
			t.Errorf("account %s: allow_from_override %v from %q; want %v %q", want.name, a.AllowFromOverride, a.From, want.override, want.from)
		}
	}
}

// TestEnvelopeFromAddressNotPattern: '*', '?' and '[' make a from a
// pattern only as the file writes it. The command line's sender
// (OverrideFrom: -f, --from, --read-envelope-from) and the expansion of a
// from without them are the address msmtp sends as, even when they hold
// those characters (they are legal in a local part; a control character
// in $USER becomes '?'): never "no sender", which would let the
// message's From decide and set_from_header on be dropped silently.
func TestEnvelopeFromAddressNotPattern(t *testing.T) {
	env := map[string]string{"USER": "jo\te"}
	x := Expander{Getenv: func(k string) string { return env[k] }}
	tests := []struct {
		name, from, cmdline string
		override            bool
		want                string
		err                 bool
	}{
		{"-f with '?' in the local part", "acct@example.com", "what?now@example.net", true, "what?now@example.net", false},
		{"-f with '*' and no from", "", "a*b@example.net", true, "a*b@example.net", false},
		{"-f replacing a pattern", "*@example.com", "f[1]@example.com", true, "f[1]@example.com", false},
		{"%U with a control character", "%U@example.com", "", true, "jo?e@example.com", false},
		{"%U with a control character, allow_from_override off", "%U@example.com", "x@example.net", false, "jo?e@example.com", false},
		{"a pattern stays a pattern after expansion", "*@%U.example", "", true, "", false},
		{"a pattern, allow_from_override off", "*@example.com", "x@example.net", false, "", true},
	}
	for _, tc := range tests {
		a := NewAccount("a")
		a.From, a.AllowFromOverride = tc.from, tc.override
		a.OverrideFrom(tc.cmdline)
		if err := a.Expand(context.Background(), x, true); err != nil {
			t.Fatal(err)
		}
		got, err := a.EnvelopeFrom("")
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: %q, %v; want %q (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}
