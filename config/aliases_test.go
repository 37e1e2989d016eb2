package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// aliasesFile is the file the facts below were checked against with
// Debian's msmtp 1.8.23 (RCPT TO lines seen by a test server).
const aliasesFile = `# comment
root: Admin@example.com, second@example.com  # trailing comment
Bob:   bob@example.org
chain: root
spaced :  sp@example.com ,, sp2@example.com
mailer-daemon: postmaster
x: y@example.com, z
`

func TestAliasesExpand(t *testing.T) {
	withDefault := aliasesFile + "default: admin\nadmin: a1@example.com\n"
	tests := []struct {
		file, rcpt string
		want       []string
	}{
		{aliasesFile, "root", []string{"Admin@example.com", "second@example.com"}},
		{aliasesFile, "chain", []string{"Admin@example.com", "second@example.com"}}, // expanded again
		{aliasesFile, "ROOT", []string{"ROOT"}},                                     // names are case-sensitive
		{aliasesFile, "bob", []string{"bob"}},
		{aliasesFile, "Bob", []string{"bob@example.org"}},
		{aliasesFile, "nobody", []string{"nobody"}},            // no alias, no default: as is
		{aliasesFile, "mailer-daemon", []string{"postmaster"}}, // a local result without alias stays
		{aliasesFile, "spaced", []string{"sp@example.com", "sp2@example.com"}},
		{aliasesFile, "root@localhost", []string{"root@localhost"}}, // not local
		{withDefault, "nobody", []string{"a1@example.com"}},
		{withDefault, "ROOT", []string{"a1@example.com"}},
		{withDefault, "mailer-daemon", []string{"a1@example.com"}}, // default at every level
		{withDefault, "x", []string{"y@example.com", "a1@example.com"}},
		{withDefault, "bob@example.org", []string{"bob@example.org"}},
		{"root: a@example.com\nroot: b@example.com\n", "root", []string{"b@example.com"}}, // the last line wins
		{"a: b@example.com, c\nc: b@example.com\n", "a", []string{"b@example.com"}},       // each address once
		{"root: r@example.com\r\n", "root", []string{"r@example.com"}},
		{"root: Root Admin <r@example.com>\n", "root", []string{"r@example.com"}},
	}
	for i, tc := range tests {
		a, err := ParseAliases(strings.NewReader(tc.file), "aliases")
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := a.Expand(tc.rcpt)
		if err != nil {
			t.Fatalf("case %d: Expand(%q): %v", i, tc.rcpt, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("case %d: Expand(%q) = %q, want %q", i, tc.rcpt, got, tc.want)
		}
	}
	var none *Aliases
	if got, err := none.Expand("root"); err != nil || !reflect.DeepEqual(got, []string{"root"}) {
		t.Errorf("nil Aliases: %q, %v", got, err)
	}
}

// TestAliasesDepth checks the loop guard at msmtp's depth: a chain of 17
// expansions is delivered, 18 is a loop (both measured with msmtp 1.8.23).
func TestAliasesDepth(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "d%d: d%d\n", i, i+1)
	}
	b.WriteString("d41: end@example.com\nloop1: loop2\nloop2: loop1\n")
	a, err := ParseAliases(strings.NewReader(b.String()), "deep")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Expand("d25"); err != nil || !reflect.DeepEqual(got, []string{"end@example.com"}) {
		t.Errorf("d25 (17 expansions): %q, %v", got, err)
	}
	for _, r := range []string{"d24", "d1", "loop1"} {
		_, err := a.Expand(r)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "too many redirects") || ce.Fix == "" || ce.File != "deep" {
			t.Errorf("%s: err = %v, want a *Error about a loop", r, err)
		}
	}
}

// TestAliasesProgramsAndFiles: a Debian /etc/aliases may map a name to a
// program or a file; using such an alias is an error that says why, and
// the file's other aliases still work.
func TestAliasesProgramsAndFiles(t *testing.T) {
	a, err := ParseAliases(strings.NewReader("root: admin@example.com\nlists: \"|/usr/bin/procmail -a list\"\nbin: |/usr/bin/x\narchive: /var/mail/archive\n"), "aliases")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Expand("root"); err != nil || !reflect.DeepEqual(got, []string{"admin@example.com"}) {
		t.Errorf("root: %q, %v", got, err)
	}
	for _, r := range []string{"lists", "bin", "archive"} {
		var ce *Error
		if _, err := a.Expand(r); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "program or a file") || ce.Line == 0 {
			t.Errorf("%s: %v", r, err)
		}
	}
}

func TestAliasesErrors(t *testing.T) {
	tests := []struct {
		file string
		line int
		msg  string
	}{
		{"root: a@b.c\nbadline\n", 2, "single ':' delimiter expected"},
		{"a:b:c\n", 1, "single ':' delimiter expected"},
		{"list: :include:/etc/list\n", 1, "single ':' delimiter expected"}, // as msmtp
		{"root:\n", 1, "alias root has no address"},
		{"root: , ,\n", 1, "alias root has no address"},
		{": a@b.c\n", 1, "no name"},
		{"root: a b\n", 1, "is not an address"},
		{"root: a@@b\n", 1, "is not an address"},
		// A control character is the file's problem (exit 78, file and
		// line), not a "header injection" in the message (exit 64).
		{"root: adm\rin\n", 1, "is not an address"},
		{"root: a\x01b, c@d.e\n", 1, "is not an address"},
		{"x: y@z.e\nroot: adm\x7fin\n", 2, "is not an address"},
		{"root: " + strings.Repeat("a", maxAliasLine) + "\n", 1, "longer than"},
	}
	for _, tc := range tests {
		_, err := ParseAliases(strings.NewReader(tc.file), "f")
		var ce *Error
		if !errors.As(err, &ce) || ce.Line != tc.line || !strings.Contains(ce.Msg, tc.msg) || ce.Fix == "" {
			t.Errorf("%.30q: err = %v, want line %d %q", tc.file, err, tc.line, tc.msg)
		}
	}
	dir := t.TempDir()
	_, err := LoadAliases(filepath.Join(dir, "missing"))
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) || ce.Fix == "" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadAliases(dir); !errors.As(err, &ce) {
		t.Errorf("a directory: %v", err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("# filler line of a comment\n", maxAliasesFile/20)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAliases(big); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "larger than") {
		t.Errorf("a huge file: %v", err)
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte(aliasesFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := LoadAliases(ok); err != nil || a.File != ok {
		t.Errorf("LoadAliases: %v", err)
	}
}

func ExampleAliases_Expand() {
	a, err := ParseAliases(strings.NewReader("root: admin@example.com, ops\nops: ops@example.com\n"), "aliases")
	if err != nil {
		panic(err)
	}
	addrs, _ := a.Expand("root")
	fmt.Println(addrs)
	// Output: [admin@example.com ops@example.com]
}

// TestAliasesExpander reads the file only when a local recipient comes.
func TestAliasesExpander(t *testing.T) {
	missing := AliasExpander(filepath.Join(t.TempDir(), "missing"))
	if got, err := missing("bob@example.org"); err != nil || !reflect.DeepEqual(got, []string{"bob@example.org"}) {
		t.Errorf("full address with a missing file: %q, %v", got, err)
	}
	if _, err := missing("root"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("local name with a missing file: %v", err)
	}
	if got, err := AliasExpander("")("root"); err != nil || !reflect.DeepEqual(got, []string{"root"}) {
		t.Errorf("no aliases file: %q, %v", got, err)
	}
	p := filepath.Join(t.TempDir(), "aliases")
	if err := os.WriteFile(p, []byte("default: admin@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := AliasExpander(p)("cron"); err != nil || !reflect.DeepEqual(got, []string{"admin@example.com"}) {
		t.Errorf("default: %q, %v", got, err)
	}
}

// TestAliasesFanOutBounded: aliases that fan out over many levels (each
// name of a level maps to every name of the next) describe few addresses
// but an exponential number of paths. Expanding them must cost time in
// proportion to the file, not to the paths: 8 names on each of 16 levels
// made 8^16 walks before (msmtp 1.8.23 hangs on it too), the loop guard
// must still count the longest chain, and a name reached first by a short
// chain and again by a long one is still a loop.
func TestAliasesFanOutBounded(t *testing.T) {
	layers := func(levels, width int) string {
		var b strings.Builder
		for i := 0; i < levels; i++ {
			for j := 0; j < width; j++ {
				fmt.Fprintf(&b, "l%dx%d:", i, j)
				for k := 0; k < width; k++ {
					sep := ","
					if k == 0 {
						sep = ""
					}
					if i == levels-1 {
						fmt.Fprintf(&b, "%s a%d@example.com", sep, k)
					} else {
						fmt.Fprintf(&b, "%s l%dx%d", sep, i+1, k)
					}
				}
				b.WriteString("\n")
			}
		}
		return b.String()
	}
	// A long chain reached again through a detour, after a short route.
	detour := "top: c1, p1\np1: p2\np2: p3\np3: p4\np4: p5\np5: c1\n"
	for i := 1; i < 12; i++ {
		detour += fmt.Sprintf("c%d: c%d\n", i, i+1)
	}
	detour += "c12: end@example.com\nshort: c1\n"
	tests := []struct {
		name, file, rcpt string
		want             []string // nil: a loop error
	}{
		{"16 levels of 8", layers(MaxAliasDepth-1, 8), "l0x0", []string{"a0@example.com", "a1@example.com", "a2@example.com",
			"a3@example.com", "a4@example.com", "a5@example.com", "a6@example.com", "a7@example.com"}},
		{"17 levels of 8", layers(MaxAliasDepth, 8), "l0x3", []string{"a0@example.com", "a1@example.com", "a2@example.com",
			"a3@example.com", "a4@example.com", "a5@example.com", "a6@example.com", "a7@example.com"}},
		{"18 levels of 8", layers(MaxAliasDepth+1, 8), "l0x0", nil},
		{"short chain", detour, "short", []string{"end@example.com"}},
		{"the same chain after a detour", detour, "top", nil},
	}
	for _, tt := range tests {
		a, err := ParseAliases(strings.NewReader(tt.file), "fan")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var got []string
		go func() {
			defer close(done)
			got, err = a.Expand(tt.rcpt)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Expand(%s) did not return within 30s", tt.name, tt.rcpt)
		}
		if tt.want == nil {
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "too many redirects") {
				t.Errorf("%s: %q, %v; want a loop error", tt.name, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestAliasesNotAFile: a directory named as the aliases file gets the
// advice to name a text file of aliases, not to fix an unreadable path.
func TestAliasesNotAFile(t *testing.T) {
	_, err := LoadAliases(t.TempDir())
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "aliases" || !strings.Contains(ce.Fix, "text file") {
		t.Errorf("LoadAliases(directory) = %#v; want an aliases *Error whose fix asks for a text file", err)
	}
}
