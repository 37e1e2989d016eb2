package testnoflag

import (
	"os"
	"path/filepath"
	"testing"
)

// TestScan: the scanner finds a flag in a fix text, in a raw string and in
// one piece of a concatenation, in files of any build tag and in
// subdirectories, and passes over test files, testdata, comments and
// dashes that are not flags.
func TestScan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", `package a

// Use --ca in a comment: fine.
var fix = "pass the CA with --ca FILE"
var raw = `+"`use --tls implicit`"+`
var cat = "select it with " + "--cert-store MY"
var fine = "a--b, -- alone, --1, 2026-01-31T12:00:00Z, use implicit TLS"
`)
	write("w_windows.go", "//go:build windows\n\npackage a\n\nvar w = \"check --tls-name\"\n")
	write("a_test.go", "package a\n\nvar t = \"--ca\"\n")
	write("testdata/x.go", "package x\n\nvar t = \"--ca\"\n")
	write("sub/b.go", "package b\n\nvar b = \"--timeout\"\n")

	found, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"pass the CA with --ca FILE": true, "use --tls implicit": true, "--cert-store MY": true,
		"check --tls-name": true, "--timeout": true,
	}
	for _, f := range found {
		if !want[f.Text] {
			t.Errorf("unexpected: %s %q", f.Pos, f.Text)
		}
		delete(want, f.Text)
	}
	for w := range want {
		t.Errorf("not found: %q", w)
	}
}

// TestCheckAllowList: an allowed literal passes, and the scanner reports
// what the allow-list does not cover (checked through Scan, since Check
// on a failing tree would fail this test).
func TestCheckAllowList(t *testing.T) {
	dir := t.TempDir()
	src := "package a\n\nvar a = \"gpg --batch -d\"\n"
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	Check(t, dir, map[string]string{"gpg --batch": "an argument for gpg"})
}
