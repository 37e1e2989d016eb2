package testdir

import (
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wineRun are the directories whose tests scripts/wine-test.sh runs under
// Wine (GOOS=windows), from the module's root.
var wineRun = []string{"secchan", "outbox", "submit", "internal/testdir"}

// TestWineTestsUseNew: a test that runs under Wine and asks for
// t.TempDir() fails in its cleanup there (see the package doc), so such
// tests call New. Every _test.go file of the Wine-run packages that can
// build for windows is read; a call of TempDir() in one is an error.
func TestWineTestsUseNew(t *testing.T) {
	checked := 0
	for _, d := range wineRun {
		root := filepath.Join("..", "..", filepath.FromSlash(d))
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "wine_test.go") {
				return err
			}
			if !buildsForWindows(path) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			for i, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, ".TempDir()") {
					t.Errorf("%s:%d calls TempDir(), which fails its cleanup under Wine: use testdir.New(t)", path, i+1)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d test files checked: are the directories %v still where this test looks?", checked, wineRun)
	}
}

// buildsForWindows reports whether the Go file at path can build with
// GOOS=windows: by its name (a _linux... GOOS suffix) and its //go:build
// line.
func buildsForWindows(path string) bool {
	base := strings.TrimSuffix(filepath.Base(path), "_test.go")
	for _, other := range []string{"_linux", "_darwin", "_freebsd", "_openbsd", "_netbsd", "_dragonfly", "_solaris", "_plan9", "_js", "_wasip1"} {
		if strings.HasSuffix(base, other) {
			return false
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "package ") {
			break
		}
		if constraint.IsGoBuild(line) {
			expr, err := constraint.Parse(line)
			if err != nil {
				return true
			}
			return expr.Eval(func(tag string) bool { return tag == "windows" || tag == "amd64" || tag == "gc" })
		}
	}
	return true
}
