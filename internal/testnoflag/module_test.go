package testnoflag

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestLibraryNamesNoFlags: no library package of the module names a
// command-line flag or a tlsmail command in its text. A fix says which
// setting to change; the CLI adds its flag (cmd/tlsmail/flaghints.go).
// The programs (package main: cmd/tlsmail, the bench and script commands)
// have flags of their own and are passed over by Scan; the skip list
// holds the packages that are not a library user's; the allow list,
// other programs' flags quoted as commands to run.
func TestLibraryNamesNoFlags(t *testing.T) {
	skip := map[string]string{
		"internal/certinfo":      "the CLI's certificate rendering and flag loading, imported by cmd/tlsmail only (TestCertinfoIsTheCLIs)",
		"internal/testpeer":      "a test helper that runs other programs",
		"internal/testpg":        "a test helper that runs PostgreSQL's programs",
		"internal/testpki":       "a test helper",
		"internal/testdir":       "a test helper",
		"internal/testbettertls": "a test helper",
		"internal/testnoflag":    "this checker, whose patterns are flags",
	}
	Check(t, "../..", skip, map[string]string{
		"certutil -importpfx":   "the certutil command that imports a PKCS#12 file (secchan/schannel)",
		"certutil -user -store": "the certutil command that lists a store (secchan/schannel, submit)",
		"openssl pkcs12 -in":    "the openssl command that splits a PKCS#12 file (secchan/schannel)",
	})
}

// TestCertinfoIsTheCLIs backs TestLibraryNamesNoFlags's skip of
// internal/certinfo: its texts may name flags because only programs import
// it. A library package that imports it fails here, and its texts then
// need the check.
func TestCertinfoIsTheCLIs(t *testing.T) {
	const certinfo = `"github.com/tlsmail/tlsmail/internal/certinfo"`
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == certinfo && f.Name.Name != "main" && !strings.Contains(filepath.ToSlash(path), "internal/certinfo/") {
				t.Errorf("%s (package %s) imports internal/certinfo: check its texts for flags (remove the skip)", path, f.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
