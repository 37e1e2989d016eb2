// Package testnoflag checks, for tests, that a package below the CLI names
// no command-line flag in its text.
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

// Found is a string literal that names a flag.
type Found struct {
	Pos  token.Position
	Text string
}

// Scan returns the string literals of the non-test Go files under root
// (subdirectories included, testdata skipped) that look like they name a
// command-line flag. Every file is parsed whatever its build tags, so the
// Windows-only files are checked on every platform.
func Scan(root string) ([]Found, error) {
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
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
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
			if flagLike.MatchString(s) {
				found = append(found, Found{Pos: fset.Position(lit.Pos()), Text: s})
			}
			return true
		})
		return nil
	})
	return found, err
}

// Check fails t for every string literal under root that names a flag,
// unless allow has a reason for it: allow maps a substring of the literal
// to why that literal may name a flag (an argument for another program,
// such as "gpg --batch", is not advice about tlsmail's flags). An allow
// entry that matches nothing fails too, so the list cannot go stale.
func Check(t testing.TB, root string, allow map[string]string) {
	t.Helper()
	found, err := Scan(root)
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
		t.Errorf("%s: %q names a command-line flag; describe the setting instead and let cmd/tlsmail add the flag (flaghints.go)", f.Pos, f.Text)
	}
	for sub, why := range allow {
		if !used[sub] {
			t.Errorf("allow-list entry %q (%s) matches no string literal any more; remove it", sub, why)
		}
	}
}
