//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
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
		m.wantEmptyOutbox(t, fmt.Sprintf("mode %04o", mode))
	}
}

// TestMsmtpSystemConfigUnreadable: Debian keeps a system file that holds
// a password at mode 0640 root:msmtp, which other users cannot read.
// msmtp ignores a system file it cannot open ("ignoring system
// configuration file /etc/msmtprc: Permission denied", checked with
// 1.8.23) and uses the user's own file; tlsmail exited 78 for every such
// user. Run as nobody (needs root and setpriv).
func TestMsmtpSystemConfigUnreadable(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and setpriv to run as another user")
	}
	srv := startServer(t, func(c *server.Config) { c.SMTPSAddr = ""; c.Users = nil })
	host, port, err := net.SplitHostPort(srv.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "tlsmail")
	data, err := os.ReadFile(tlsmailBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(home, ".msmtprc")
	if err := os.WriteFile(user, []byte("account default\nhost "+host+"\nport "+port+"\ntls off\nfrom user@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{home, user} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Skipf("chown: %v", err)
		}
	}
	system := writeFile(t, "msmtprc", []byte("account default\nhost "+host+"\nport "+port+"\ntls off\nfrom system@example.com\n"), 0o600)
	if err := os.Chmod(filepath.Dir(system), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(filepath.Dir(system)), 0o755); err != nil {
		t.Fatal(err)
	}
	r := proc{bin: setpriv, args: []string{"--reuid=65534", "--regid=65534", "--clear-groups", bin, "sendmail", "-v", "bob@example.org"},
		env:   []string{"HOME=" + home, "TLSMAIL_SYSTEM_CONFIG=" + system, "TLSMAIL_QUEUE_DIR=" + filepath.Join(home, "queue")},
		stdin: strings.NewReader("Subject: user\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "using account default from "+user) {
		t.Fatalf("a user with their own file under an unreadable system file: %s", r)
	}
	if msg := waitMessages(t, srv, 1)[0]; msg.From != "user@example.com" {
		t.Errorf("sent from %s", msg.From)
	}
}
