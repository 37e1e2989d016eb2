package testnoflag

import (
	"os"
	"path/filepath"
	"testing"
)

// TestScan: the scanner finds a flag (long or single-dash) or a tlsmail
// command in a fix text, in a raw string and in one piece of a
// concatenation, in files of any build tag and in subdirectories, and
// passes over test files, testdata, programs (package main), comments, dashes that are not flags,
// lone arguments for other programs and "tlsmail" before a word that is no
// command.
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
var short1 = "give recipients, or use -t to read them"
var short2 = "the account for -f"
var short3 = "(-f ADDR) picks it"
var short4 = "as sendmail's '-oi' does"
var short5 = "-C FILE names the file"
var short6 = "pass -no-such-flag then"
var cmd1 = "inspect the chain with 'tlsmail cert verify'"
var cmd2 = "as `+"`tlsmail probe`"+` shows it"
var cmd3 = "migrate it (tlsmail queue init)"
var cmd4 = "tlsmail send"
var prose = "re-try the e-mail; x-y -1 -0700 a - b, UTF-8, Resent-To, non-TLS, 2006-01-02, %-10s, -----BEGIN CERTIFICATE-----"
var words = "tlsmail checks revocation; tlsmail Test Root CA; tlsmail sends; tlsmail-cert verify; tlsmail revocation cache 1"
var argv = []string{"/bin/sh", "-c", "-importpfx"}
`)
	write("w_windows.go", "//go:build windows\n\npackage a\n\nvar w = \"check --tls-name\"\n")
	write("a_test.go", "package a\n\nvar t = \"--ca\"\n")
	write("testdata/x.go", "package x\n\nvar t = \"--ca\"\n")
	write("sub/b.go", "package b\n\nvar b = \"--timeout\"\n")
	write("cmd/prog/main.go", "package main\n\nvar usage = \"--ca FILE\"\n")

	found, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"pass the CA with --ca FILE": true, "use --tls implicit": true, "--cert-store MY": true,
		"check --tls-name": true, "--timeout": true,
		"give recipients, or use -t to read them": true, "the account for -f": true, "(-f ADDR) picks it": true,
		"as sendmail's '-oi' does": true, "-C FILE names the file": true, "pass -no-such-flag then": true,
		"inspect the chain with 'tlsmail cert verify'": true, "as `tlsmail probe` shows it": true,
		"migrate it (tlsmail queue init)": true, "tlsmail send": true,
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
	if err := os.MkdirAll(filepath.Join(dir, "sub", "helper"), 0o755); err != nil {
		t.Fatal(err)
	}
	src = "package helper\n\nvar a = \"run it with --force\"\n"
	if err := os.WriteFile(filepath.Join(dir, "sub", "helper", "h.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	Check(t, dir, map[string]string{"sub/helper": "runs another program"}, map[string]string{"gpg --batch": "an argument for gpg"})
}
