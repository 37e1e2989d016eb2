//go:build unix

package main

import (
	"os"
	"strings"
	"testing"
)

// TestSendmailCAFileOthersCanWrite (issue 14): run as root (cron's mail
// through /etc/msmtprc), a tls_trust_file that other users can write is
// refused with exit 78 and a message naming the file and the fix, and the
// message is not sent with a trust anchor someone else may have added.
func TestSendmailCAFileOthersCanWrite(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the rule applies when running as root")
	}
	m := newMailbox(t, nil, nil)
	ca, err := os.ReadFile(m.srv.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	writable := writeFile(t, "ca.pem", ca, 0o666)
	if err := os.Chmod(writable, 0o666); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), m.srv.CAFile(), writable, 1)), 0o600)
	r := proc{args: []string{"sendmail", "-C", cfg, "-i", "bob@example.org"}, env: m.env(), stdin: strings.NewReader("Subject: x\n\nhi\n")}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "refusing the CA file "+writable) || !strings.Contains(r.stderr, "chmod go-w") {
		t.Errorf("exit %d, stderr %q; want %d refusing the CA file with the fix", r.code, r.stderr, exitConfig)
	}
	if n := storedCount(t, m.srv); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}
