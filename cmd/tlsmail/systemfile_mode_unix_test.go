//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"
	"strings"
	"testing"
)

// TestSendmailSystemFileGroupReadable (issue 14 item 10): the system
// file holding a password at 0640 root:GROUP (Debian's setting for
// /etc/msmtprc, readable by the msmtp group) is used; the same file is
// refused when others may read it or the group may write it, and a user
// file (-C) must still be 0600. Before, 0640 was refused everywhere.
func TestSendmailSystemFileGroupReadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs a file owned by root: run as root")
	}
	m := newMailbox(t, nil, nil)
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mode   os.FileMode
		system bool
		want   int
		why    string
	}{
		{"system 0640", 0o640, true, 0, ""},
		{"system 0600", 0o600, true, 0, ""},
		{"system 0644", 0o644, true, exitConfig, "can be read by other users"},
		{"system 0660", 0o660, true, exitConfig, "can be written by other users"},
		{"user 0640", 0o640, false, exitConfig, "can be read by other users"},
	}
	for _, tc := range tests {
		path := writeFile(t, "msmtprc", cfg, 0o600)
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		p := proc{args: []string{"sendmail", "-i", "bob@example.org"}, stdin: strings.NewReader("Subject: x\n\nx\n")}
		if tc.system {
			p.env = m.env("TLSMAIL_SYSTEM_CONFIG=" + path)
		} else {
			p.args = append(p.args[:1], append([]string{"-C", path}, p.args[1:]...)...)
			p.env = m.env("TLSMAIL_SYSTEM_CONFIG=/nonexistent/msmtprc")
		}
		r := p.run(t)
		if r.code != tc.want || (tc.want == 0 && r.stderr != "") {
			t.Errorf("%s: exit %d, want %d (silent when 0): %s", tc.name, r.code, tc.want, r)
		}
		if !strings.Contains(r.stderr, tc.why) {
			t.Errorf("%s: the refusal does not say why: %s", tc.name, r)
		}
	}
}
