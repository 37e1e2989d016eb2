package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestRevocationCacheRefusedNotice: when the revocation cache directory
// may be written by others, cert verify still gives its verdict (checked
// from a fresh fetch) and says once, on stderr, that the directory is not
// used, why (its mode) and what to do. A private directory gets no notice.
// Before, trust kept the reason to itself.
func TestRevocationCacheRefusedNotice(t *testing.T) {
	t.Parallel()
	s, err := testpki.NewRevocationScenario("revocation-good")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ca, chain, _, err := s.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mode   os.FileMode
		notice bool
	}{
		{"private", 0o700, false},
		{"writable by others", 0o777, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "revocation")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			r := cli{args: append([]string{"cert", "verify", "--json", chain}, trustArgs(s, ca)...),
				env: []string{"TLSMAIL_REVOCATION_CACHE=" + dir}}.run(t)
			if r.code != 0 || !strings.Contains(r.stdout, `"ok": true`) {
				t.Errorf("verdict changed: %s", r)
			}
			n := strings.Count(r.stderr, "tlsmail: warning: the revocation cache directory "+dir+" is writable by group or others")
			switch {
			case tc.notice && (n != 1 || !strings.Contains(r.stderr, "chmod 700")):
				t.Errorf("want the notice once, with its fix: %s", r)
			case !tc.notice && r.stderr != "":
				t.Errorf("want nothing on stderr: %s", r)
			}
		})
	}
}
