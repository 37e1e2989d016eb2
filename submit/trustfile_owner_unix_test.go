//go:build unix

package submit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestTrustFilesOwnerAsRoot (issue 14): running as root, the CA file and
// the client certificate and key a configuration names get the rule of the
// configuration file itself: a file another user owns, or that group or
// others may write, is refused (a CA file others can write lets them add a
// trust anchor) with an *Error of Field <file>_owner that names the file
// and the fix; a file of root's, writable by root alone, is used.
func TestTrustFilesOwnerAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the rule applies when running as root")
	}
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := testdir.New(t)
	ca, chain, key, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(src, name string, mode os.FileMode, uid int) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The CRL file decides which certificates are refused: the same rule.
	if _, err := LoadCRLFile(variant(ca, "crl-world", 0o666, 0)); !isField(err, "crl_file_owner") {
		t.Errorf("world-writable CRL file: %v, want an *Error of Field crl_file_owner", err)
	}
	for _, tc := range []struct {
		name      string
		ca        string
		cert, key string
		field     string // "" means accepted
	}{
		{"root's files", variant(ca, "ca-ok", 0o644, 0), variant(chain, "c-ok", 0o644, 0), variant(key, "k-ok", 0o600, 0), ""},
		{"CA file world-writable", variant(ca, "ca-world", 0o666, 0), "", "", "ca_file_owner"},
		{"CA file group-writable", variant(ca, "ca-group", 0o664, 0), "", "", "ca_file_owner"},
		{"CA file of another user", variant(ca, "ca-other", 0o644, 12345), "", "", "ca_file_owner"},
		{"certificate of another user", "", variant(chain, "c-other", 0o644, 12345), variant(key, "k-ok2", 0o600, 0), "cert_file_owner"},
		{"key group-writable", "", variant(chain, "c-ok2", 0o644, 0), variant(key, "k-group", 0o660, 0), "key_file_owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var path string
			if tc.ca != "" {
				_, err = LoadCAFile(tc.ca)
				path = tc.ca
			}
			if err == nil && tc.cert != "" {
				_, err = LoadKeyPair(tc.cert, tc.key)
				path = tc.cert
				if strings.HasPrefix(tc.field, "key") {
					path = tc.key
				}
			}
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != tc.field || !strings.Contains(e.Error(), path) || !strings.Contains(e.Fix, "chmod go-w "+path) {
				t.Fatalf("err = %v (%#v); want an *Error of Field %s naming %s with a fix", err, e, tc.field, path)
			}
		})
	}
}

func isField(err error, field string) bool {
	var e *Error
	return errors.As(err, &e) && e.Field == field
}
