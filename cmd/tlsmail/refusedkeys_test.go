package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// TestMsmtpCRLFile (issue 14 item 13): msmtp refuses to send with a
// tls_crl_file that does not exist; tlsmail, which reads no local CRL
// file, refuses any tls_crl_file (exit 78, naming the command, its line
// and what to do) instead of sending as if the line were not there, and
// queues nothing. Neither sends.
func TestMsmtpCRLFile(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	crl := filepath.Join(t.TempDir(), "crl.pem")
	if err := os.WriteFile(crl, []byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.pem")},
		{"present", crl}, // a CRL with no content: msmtp cannot use it either
	} {
		text := strings.Replace(string(base), "account local\n", "account local\ntls_crl_file "+tc.file+"\n", 1)
		cfg := writeFile(t, "msmtprc", []byte(text), 0o600)
		ms, tm := runBoth(t, m, msmtp, []string{"-C", cfg, "-i", "bob@example.org"}, "Subject: crl\n\nhi\n")
		if ms.code == 0 {
			t.Errorf("%s: msmtp sent the message; the test expects it to refuse", tc.name)
		}
		if tm.code != exitConfig || !strings.Contains(tm.stderr, "tls_crl_file") || !strings.Contains(tm.stderr, "remove the line") {
			t.Errorf("%s: tlsmail exit %d, stderr %q; want %d naming tls_crl_file and the fix", tc.name, tm.code, tm.stderr, exitConfig)
		}
		if _, err := os.Stat(m.queue); err == nil {
			if q := m.list(t); len(q.Queued)+len(q.Failed) > 0 {
				t.Errorf("%s: something was queued: %+v", tc.name, q)
			}
		}
	}
}
