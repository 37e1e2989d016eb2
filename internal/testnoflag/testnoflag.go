// Package testnoflag checks, for tests, that a package below the CLI names
// no command-line flag and no tlsmail command in its text.
//
// The layers under cmd/tlsmail describe a setting in their fix texts ("give
// the server's CA certificate", "use implicit TLS on port 465"); which flag
// sets it is the CLI's business, added by its one table of flag hints
// (cmd/tlsmail/flaghints.go). A library user has no flags, and a flag
// renamed in the CLI must not leave stale advice below it.
package testnoflag

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// flagLike is a long option: two dashes and a letter, at the start of the
// text or after a character that cannot be part of a word ("a--b" is not a
// flag).
var flagLike = regexp.MustCompile(`(^|[^A-Za-z0-9-])--[A-Za-z]`)

// shortFlagLike is a single-dash option in prose ("use -t", "(-f ADDR)"):
// a dash at the start of the text or after a space, an opening bracket or
// a quote, then letters, digits and dashes up to the end of the text, a space or
// punctuation. A dash inside a word ("re-try", "e-mail", "Resent-To"),
// before a digit ("-1", "-0700", "2026-01-31") or between spaces ("a - b")
// is not one.
var shortFlagLike = regexp.MustCompile("(^|[\\s(\\[{'\"`])-[A-Za-z][A-Za-z0-9-]*([\\s)\\]}'\"`,.;:=]|$)")

// commandLike is "tlsmail" followed by one of the CLI's commands
// (Commands), as a word: "inspect it with 'tlsmail cert verify'".
// "tlsmail checks revocation" or "tlsmail Test Root CA" is not a command.
var commandLike = regexp.MustCompile(`(^|[^A-Za-z0-9_-])tlsmail\s+(` + strings.Join(Commands(), "|") + `)([^A-Za-z0-9_-]|$)`)

// Commands is the top-level commands of cmd/tlsmail. A test in
// cmd/tlsmail checks that the list matches the CLI's commands, so that a
// command added there is looked for here too.
func Commands() []string {
	return []string{"cert", "completion", "demo", "help", "probe", "queue", "send", "sendmail", "serve", "version"}
}

// Found is a string literal that names a flag or a command.
type Found struct {
	Pos  token.Position
	Text string
	// What says what it names: "a command-line flag", "a single-dash
	// command-line flag" or "a tlsmail command".
	What string
}

// names says what s names that a text below the CLI must not (see Found's
// What), or "". A single-dash flag counts only in a text with a space in
// it: a literal that is one argument of another program ("/bin/sh", "-c")
// is not advice, and prose is what a fix text is.
func names(s string) string {
	switch {
	case flagLike.MatchString(s):
		return "a command-line flag"
	case commandLike.MatchString(s):
		return "a tlsmail command"
	case strings.ContainsAny(s, " \t\n") && shortFlagLike.MatchString(s):
		return "a single-dash command-line flag"
	}
	return ""
}

// Scan returns the string literals of the non-test Go files of library
// packages under root (subdirectories included; testdata, hidden
// directories and files of package main, which are programs with flags of
// their own such as cmd/tlsmail, skipped) that look like they name a
// command-line flag, long ("--ca") or single-dash ("-t"), or a tlsmail
// command ("tlsmail cert verify"). Every file is parsed whatever its build
// tags, so the Windows-only files are checked on every platform.
func Scan(root string) ([]Found, error) {
	return scan(root, nil)
}

// scan is Scan, skipping the directories named in skip (slash-separated
// paths relative to root) and what is under them.
func scan(root string, skip map[string]string) ([]Found, error) {
	var found []Found
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			if rel, err := filepath.Rel(root, path); err == nil && skip[filepath.ToSlash(rel)] != "" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			if what := names(s); what != "" {
				found = append(found, Found{Pos: fset.Position(lit.Pos()), Text: s, What: what})
			}
			return true
		})
		return nil
	})
	return found, err
}

// Check fails t for every string literal under root (as Scan finds them)
// that names a flag or a tlsmail command, unless allow has a reason for
// it: allow maps a substring of the literal to why that literal may name a
// flag (an argument for another program, such as "gpg --batch" or
// "certutil -importpfx", is not advice about tlsmail's flags). skip maps a
// directory under root (a slash-separated relative path) to why it is not
// checked at all. An allow entry that matches nothing, or a skip entry
// that names no directory, fails too, so the lists cannot go stale.
func Check(t testing.TB, root string, skip, allow map[string]string) {
	t.Helper()
	for dir, why := range skip {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir))); err != nil || !fi.IsDir() {
			t.Errorf("skip-list entry %q (%s) names no directory any more; remove it", dir, why)
		}
	}
	found, err := scan(root, skip)
	if err != nil {
		t.Fatalf("scanning %s: %v", root, err)
	}
	used := map[string]bool{}
next:
	for _, f := range found {
		for sub := range allow {
			if strings.Contains(f.Text, sub) {
				used[sub] = true
				continue next
			}
		}
		t.Errorf("%s: %q names %s; describe the setting or the action instead and let cmd/tlsmail add the flag or command (flaghints.go)", f.Pos, f.Text, f.What)
	}
	for sub, why := range allow {
		if !used[sub] {
			t.Errorf("allow-list entry %q (%s) matches no string literal any more; remove it", sub, why)
		}
	}
}
