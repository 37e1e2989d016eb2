package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// netrcAccount writes a configuration whose account authenticates (auth
// on, user) and gives no password, as msmtp allows: the password is then
// looked up in ~/.netrc.
func netrcAccount(t *testing.T, m *mailbox) string {
	t.Helper()
	return writeFile(t, "msmtprc", []byte(fmt.Sprintf(`defaults
tls on
tls_starttls on
tls_trust_file %s
timeout 30

account default
host 127.0.0.1
port %s
auth on
user %s
from ann@example.com
`, m.srv.CAFile(), portOf(t, m.srv.SMTPAddr()), testUser)), 0o600)
}

// An account with auth and user and no password takes its password from
// ~/.netrc (machine = host, login = user), side by side with msmtp (issue
// 14 item 9). tlsmail also refuses a ~/.netrc others can read, as it
// refuses such a configuration file with a password (msmtp reads it):
// the message then waits in the outbox and the error says what to fix.
func TestMsmtpNetrc(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	cfg := netrcAccount(t, m)
	home := t.TempDir()
	netrc := filepath.Join(home, ".netrc")
	write := func(text string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(netrc, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(netrc, mode); err != nil {
			t.Fatal(err)
		}
	}
	run := func(bin string, args ...string) result {
		return proc{bin: bin, args: args, env: m.env("HOME=" + home), stdin: strings.NewReader("Subject: netrc\n\nbody\n")}.run(t)
	}
	// The first entry for this machine and login wins; another login's,
	// another machine's and the default entry are not used.
	write(fmt.Sprintf("machine example.org login %[1]s password wrong1\nmachine 127.0.0.1 login someone password wrong2\n"+
		"machine 127.0.0.1\n  login %[1]s\n  password %[2]q\nmachine 127.0.0.1 login %[1]s password wrong3\ndefault login %[1]s password wrong4\n",
		testUser, testPassword), 0o600)
	for _, bin := range []string{msmtp, ""} {
		args := []string{"-C", cfg, "bob@example.org"}
		if bin == "" {
			args = append([]string{"sendmail"}, args...)
		}
		before := storedCount(t, m.srv)
		if r := run(bin, args...); r.code != 0 {
			t.Fatalf("%s: %s", bin, r)
		}
		if msg := waitMessages(t, m.srv, before+1)[before]; msg.AuthUser != testUser {
			t.Errorf("%s: authenticated as %q", bin, msg.AuthUser)
		}
	}

	// Queued (-odq), the item refers to netrc, not to the password: `queue
	// run` reads it again, and the outbox never holds it.
	before := storedCount(t, m.srv)
	if r := run("", "sendmail", "-C", cfg, "-odq", "bob@example.org"); r.code != 0 {
		t.Fatalf("-odq: %s", r)
	}
	if leaked := grepDir(t, m.queue, testPassword); leaked != "" {
		t.Errorf("the password is in the outbox: %s", leaked)
	}
	if r := (proc{args: []string{"queue", "run"}, env: m.env("HOME=" + home)}).run(t); r.code != 0 {
		t.Fatalf("queue run: %s", r)
	}
	waitMessages(t, m.srv, before+1)

	// Readable by others: refused, and the message is kept.
	write(fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", testUser, testPassword), 0o644)
	before = storedCount(t, m.srv)
	r := run("", "sendmail", "-C", cfg, "bob@example.org")
	if storedCount(t, m.srv) != before || !strings.Contains(r.stderr, netrc) || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("a ~/.netrc others can read was used, or the error does not say so: %s", r)
	}
	if strings.Contains(r.stdout+r.stderr, testPassword) {
		t.Errorf("the password is in the output: %s", r)
	}

	// No entry for this machine and login: not sent, and the error names
	// the file and what to add.
	write("machine 127.0.0.1 login someone password x\n", 0o600)
	r = run("", "sendmail", "-C", cfg, "bob@example.org")
	if storedCount(t, m.srv) != before || !strings.Contains(r.stderr, "machine 127.0.0.1 login "+testUser) {
		t.Errorf("no netrc entry: %s", r)
	}
}

// The system netrc (msmtp's SYSCONFDIR/netrc: beside the system
// configuration file) is read when ~/.netrc has no entry; it may be
// group-readable when root owns it, as /etc/msmtprc may.
func TestSendmailSystemNetrc(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	cfg := netrcAccount(t, m)
	sysDir, home := t.TempDir(), t.TempDir()
	writeFileAt(t, filepath.Join(home, ".netrc"), "machine 127.0.0.1 login other password x\n", 0o600)
	writeFileAt(t, filepath.Join(sysDir, "netrc"), fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", testUser, testPassword), 0o600)
	r := proc{args: []string{"sendmail", "-C", cfg, "bob@example.org"},
		env:   m.env("HOME="+home, "TLSMAIL_SYSTEM_CONFIG="+filepath.Join(sysDir, "msmtprc")),
		stdin: strings.NewReader("Subject: system netrc\n\nbody\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if msg := waitMessages(t, m.srv, 1)[0]; msg.AuthUser != testUser {
		t.Errorf("authenticated as %q", msg.AuthUser)
	}
}

func writeFileAt(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// grepDir returns the first file under dir holding s, "" when none does.
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), s) {
			found = path
		}
		return nil
	})
	return found
}

// The fix the "no netrc entry" error gives, "give the account a
// passwordeval ... then run 'tlsmail queue run'", heals a message already
// queued for the account: the item reads the account again at delivery
// (its password, its passwordeval, else netrc, as msmtp), not netrc alone.
func TestSendmailNetrcFixHealsQueued(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	cfg := netrcAccount(t, m)
	home := t.TempDir()
	r := proc{args: []string{"sendmail", "-C", cfg, "-odq", "bob@example.org"}, env: m.env("HOME=" + home),
		stdin: strings.NewReader("Subject: kept\n\nbody\n")}.run(t)
	if r.code != 0 || len(m.list(t).Queued) != 1 {
		t.Fatalf("-odq: %s", r)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAt(t, cfg, string(text)+"passwordeval echo "+testPassword+"\n", 0o600)
	r = proc{args: []string{"queue", "run"}, env: m.env("HOME=" + home)}.run(t)
	if q := m.list(t); r.code != 0 || len(q.Queued) != 0 || storedCount(t, m.srv) != 1 {
		t.Errorf("a passwordeval added to the account, then queue run: %s\nqueued %d, stored %d", r, len(q.Queued), storedCount(t, m.srv))
	}
}

// A ~/.netrc msmtp cannot read (here a directory; permission denied takes
// the same path) is passed over, side by side with msmtp: msmtp reports
// no password at all (its netrc.c returns no entries for a file it cannot
// open), never the file; tlsmail says it skipped the file and, with the
// system netrc holding the entry, delivers. An entry with a login but no
// password falls through to the system netrc the same way (msmtp 1.8.23
// meant to do so, but crashes on such an entry: it is not run on it).
func TestMsmtpNetrcUnreadableSkipped(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	cfg := netrcAccount(t, m)
	home, sysDir := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".netrc"), 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(bin string, env ...string) result {
		args := []string{"-C", cfg, "bob@example.org"}
		if bin == "" {
			args = append([]string{"sendmail"}, args...)
		}
		return proc{bin: bin, args: args, env: m.env(append([]string{"HOME=" + home}, env...)...),
			stdin: strings.NewReader("Subject: netrc\n\nbody\n")}.run(t)
	}
	// No system netrc (msmtp's is /etc/netrc, absent here: the test does
	// not write to /etc).
	if _, err := os.Stat("/etc/netrc"); err == nil {
		t.Skip("/etc/netrc exists: msmtp would read it")
	}
	ms := run(msmtp)
	if ms.code == 0 || !strings.Contains(ms.stderr, "needs a password") || strings.Contains(ms.stderr, ".netrc") {
		t.Fatalf("msmtp with a ~/.netrc directory: want 'needs a password' and no word of the file: %s", ms)
	}
	tm := run("", "TLSMAIL_SYSTEM_CONFIG="+filepath.Join(sysDir, "msmtprc"))
	if storedCount(t, m.srv) != 0 || !strings.Contains(tm.stderr, "gives no password") || !strings.Contains(tm.stderr, "was skipped") {
		t.Errorf("tlsmail with a ~/.netrc directory and no system netrc: want no password, the file skipped: %s", tm)
	}
	writeFileAt(t, filepath.Join(sysDir, "netrc"), fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", testUser, testPassword), 0o600)
	if r := run("", "TLSMAIL_SYSTEM_CONFIG="+filepath.Join(sysDir, "msmtprc")); r.code != 0 || r.stderr != "" {
		t.Fatalf("a ~/.netrc directory, the system netrc has the entry: %s", r)
	}
	// A login without a password in ~/.netrc: the system netrc answers.
	if err := os.Remove(filepath.Join(home, ".netrc")); err != nil {
		t.Fatal(err)
	}
	writeFileAt(t, filepath.Join(home, ".netrc"), "machine 127.0.0.1 login "+testUser+"\n", 0o600)
	if r := run("", "TLSMAIL_SYSTEM_CONFIG="+filepath.Join(sysDir, "msmtprc")); r.code != 0 || r.stderr != "" {
		t.Fatalf("an entry without password in ~/.netrc, the system netrc has one: %s", r)
	}
	// Both queued messages (the first one included, by the backlog) went.
	if n := storedCount(t, m.srv); n < 2 {
		t.Errorf("%d messages delivered, want at least 2", n)
	}
}

// A password ~/.netrc keeps for the account's host is not sent to another
// server: with --server over the account's host, the entry is looked up
// for the server connected to (as msmtp's --host does), whether the
// message is sent at once or queued (--defer, then queue run). Before, a
// fresh send looked it up for the file's host and sent it to --server.
func TestNetrcFollowsServerFlag(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	port := portOf(t, m.srv.SMTPAddr())
	cfg := writeFile(t, "msmtprc", []byte(fmt.Sprintf("defaults\ntls on\ntls_starttls on\ntls_trust_file %s\ntimeout 30\n\n"+
		"account default\nhost mail.example.invalid\nport %s\nauth on\nuser %s\nfrom ann@example.com\n",
		m.srv.CAFile(), port, testUser)), 0o600)
	home := t.TempDir()
	netrc := filepath.Join(home, ".netrc")
	writeFileAt(t, netrc, fmt.Sprintf("machine mail.example.invalid login %s password %s\n", testUser, testPassword), 0o600)
	env := m.env("HOME=" + home)
	msg := []string{"--to", "bob@example.org", "--subject", "s", "--body", "b"}
	send := func(extra ...string) result {
		return proc{args: append(append([]string{"send", "--config", cfg, "--server", "127.0.0.1:" + port}, extra...), msg...), env: env}.run(t)
	}
	r := send()
	if r.code != exitConfig || !strings.Contains(r.stderr, "machine 127.0.0.1 login "+testUser) || storedCount(t, m.srv) != 0 {
		t.Fatalf("the other host's netrc password, sent at once: %s (stored %d); want exit %d naming machine 127.0.0.1", r, storedCount(t, m.srv), exitConfig)
	}
	if r := send("--defer"); r.code != 0 || len(m.list(t).Queued) != 1 {
		t.Fatalf("--defer: %s", r)
	}
	if r := (proc{args: []string{"queue", "run"}, env: env}).run(t); storedCount(t, m.srv) != 0 || len(m.list(t).Queued) != 1 {
		t.Fatalf("the other host's netrc password, queued: %s (stored %d)", r, storedCount(t, m.srv))
	}
	// The entry for the server connected to is used, at once and queued.
	writeFileAt(t, netrc, fmt.Sprintf("machine 127.0.0.1 login %s password %s\n", testUser, testPassword), 0o600)
	if r := send(); r.code != 0 {
		t.Fatalf("with an entry for 127.0.0.1: %s", r)
	}
	if r := (proc{args: []string{"queue", "flush"}, env: env}).run(t); r.code != 0 || storedCount(t, m.srv) != 2 {
		t.Errorf("queue flush with an entry for 127.0.0.1: %s (stored %d, want 2)", r, storedCount(t, m.srv))
	}
}
