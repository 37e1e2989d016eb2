package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// ParseNetrc reads what msmtp's netrc.c reads: entries in file order,
// quoting, comments, the keyword synonyms, macdef blocks skipped, entries
// without a login dropped.
func TestParseNetrc(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []NetrcEntry
	}{
		{"one line", "machine smtp.example.com login ann password s3cret\n",
			[]NetrcEntry{{"smtp.example.com", "ann", "s3cret"}}},
		{"several lines and synonyms", "machine a.example\n\tuser ann\n\tpasswd p1\nmachine b.example login bob password p2 account x\n",
			[]NetrcEntry{{"a.example", "ann", "p1"}, {"b.example", "bob", "p2"}}},
		{"quotes and blanks", "machine a login \"ann smith\" password 'pa ss\"word'\r\n",
			[]NetrcEntry{{"a", "ann smith", "pa ss\"word"}}},
		{"comments", "# a comment\nmachine a login ann password p # trailing\n  # indented\n",
			[]NetrcEntry{{"a", "ann", "p"}}},
		{"hash inside a word", "machine a login ann password p#q\n",
			[]NetrcEntry{{"a", "ann", "p#q"}}},
		{"no login: dropped", "machine a password p\nmachine b login bob password q\n",
			[]NetrcEntry{{"b", "bob", "q"}}},
		{"default entry", "machine a login ann password p\ndefault login anonymous password guest\n",
			[]NetrcEntry{{"a", "ann", "p"}, {"", "anonymous", "guest"}}},
		{"macdef skipped to the blank line", "machine a login ann password p macdef init\nmachine evil login ann password x\n\nmachine b login bob password q\n",
			[]NetrcEntry{{"a", "ann", "p"}, {"b", "bob", "q"}}},
		{"login before any machine ignored", "login ann password p\nmachine a login bob password q\n",
			[]NetrcEntry{{"a", "bob", "q"}}},
		{"no password", "machine a login ann\n", []NetrcEntry{{"a", "ann", ""}}},
		{"empty", "", nil},
	} {
		got, err := ParseNetrc(strings.NewReader(tc.text))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := ParseNetrc(strings.NewReader(strings.Repeat("# padding\n", MaxNetrcBytes/10+1))); !errors.Is(err, errNetrcTooLarge) {
		t.Errorf("a file over MaxNetrcBytes: %v", err)
	}
}

// LookupNetrc matches machine and login exactly, first entry wins, and
// never the default entry (msmtp's search_netrc).
func TestLookupNetrc(t *testing.T) {
	entries := []NetrcEntry{{"a", "ann", "p1"}, {"a", "ann", "p2"}, {"a", "bob", "p3"}, {"", "ann", "pd"}, {"B", "ann", "p4"}}
	for _, tc := range []struct {
		host, user, want string
		ok               bool
	}{
		{"a", "ann", "p1", true},
		{"a", "bob", "p3", true},
		{"a", "carl", "", false},
		{"b", "ann", "", false}, // case-sensitive, as strcmp
		{"c", "ann", "", false}, // default never matches
	} {
		e, ok := LookupNetrc(entries, tc.host, tc.user)
		if ok != tc.ok || e.Password != tc.want {
			t.Errorf("%s/%s: got %+v %v, want %q %v", tc.host, tc.user, e, ok, tc.want, tc.ok)
		}
	}
}

// NetrcFiles is msmtp's order: the user's file, then the one beside the
// system configuration file (SYSCONFDIR); netrc.txt on Windows, as msmtp.
func TestNetrcFiles(t *testing.T) {
	user, sys := ".netrc", "netrc"
	if runtime.GOOS == "windows" {
		user, sys = "netrc.txt", "netrc.txt"
	}
	home, etc := filepath.Join("home", "ann"), filepath.Join("etc", "msmtprc")
	want := []string{filepath.Join(home, user), filepath.Join("etc", sys)}
	if got := NetrcFiles(home, etc); !reflect.DeepEqual(got, want) {
		t.Errorf("NetrcFiles = %q, want %q", got, want)
	}
	if got := NetrcFiles("", ""); len(got) != 0 {
		t.Errorf("no home, no system file: %q", got)
	}
}
