//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSendmailSystemConfigOthersCanWrite: root's cron mail reads the
// system file (/etc/msmtprc, here TLSMAIL_SYSTEM_CONFIG). When any user
// can write it, its passwordeval would run as root: tlsmail refuses the
// file (exit 78) before running anything or queuing the message. The same
// file at mode 0644 delivers, and runs the command (the control).
// msmtp 1.8.23 runs passwordeval and eval from such a file.
func TestSendmailSystemConfigOthersCanWrite(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cfg := strings.Replace(string(base), "password "+testPassword, "passwordeval touch "+marker+"; echo "+testPassword, 1)
	for i, mode := range []os.FileMode{0o666, 0o644} {
		system := writeFile(t, "msmtprc", []byte(cfg), mode)
		r := proc{args: []string{"sendmail", "bob@example.org"}, env: m.env("HOME="+t.TempDir(), "TLSMAIL_SYSTEM_CONFIG="+system),
			stdin: strings.NewReader("Subject: cron\n\nx\n")}.run(t)
		_, ran := os.Stat(marker)
		if mode == 0o644 {
			if r.code != 0 || ran != nil {
				t.Fatalf("mode 0644: %s (passwordeval ran: %v)", r, ran == nil)
			}
			waitMessages(t, m.srv, 1)
			continue
		}
		if r.code != exitConfig || !strings.Contains(r.stderr, "can be written by other users") || ran == nil {
			t.Errorf("mode %04o: %s (passwordeval ran: %v); want exit 78, nothing run", mode, r, ran == nil)
		}
		if n := storedCount(t, m.srv); n != i {
			t.Errorf("mode %04o: %d messages stored", mode, n)
		}
		if q := m.list(t); len(q.Queued)+len(q.Failed) != 0 {
			t.Errorf("mode %04o: the message was queued: %+v", mode, q)
		}
	}
}
