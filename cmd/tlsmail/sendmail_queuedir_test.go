package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSendmailQueueDirOfSystemFile: the outbox a queue_dir of the system
// file (/etc/msmtprc) names is the one sendmail queues into, and the one
// -bp lists and -q runs: all three find it through msmtp's files (the
// system file, then the user's). Before, -bp and -q looked for the
// configuration as `send` does (no system file) and listed and ran the
// default outbox, never the message just queued.
func TestSendmailQueueDirOfSystemFile(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	outbox := filepath.Join(t.TempDir(), "system-outbox")
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	system := writeFile(t, "msmtprc", append(base, "queue_dir "+outbox+"\n"...), 0o600)
	home := t.TempDir()
	env := []string{"TLSMAIL_SYSTEM_CONFIG=" + system, "HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state")}
	run := func(args ...string) result {
		return proc{args: append([]string{"sendmail"}, args...), env: env, stdin: strings.NewReader("Subject: system outbox\n\nbody\n")}.run(t)
	}
	if r := run("-odq", "bob@example.org"); r.code != 0 {
		t.Fatalf("-odq: %s", r)
	}
	items, _ := filepath.Glob(filepath.Join(outbox, "*", "*"))
	if len(items) == 0 {
		t.Fatalf("nothing was queued in the system file's queue_dir %s", outbox)
	}
	r := run("-bp")
	if r.code != 0 || !strings.Contains(r.stdout, "bob@example.org") {
		t.Errorf("-bp does not list the message queued in the system file's queue_dir: %s", r)
	}
	if r := run("-q"); r.code != 0 || storedCount(t, m.srv) != 1 {
		t.Errorf("-q did not deliver the message queued in the system file's queue_dir: %s (stored %d)", r, storedCount(t, m.srv))
	}
	if r := run("-bp"); r.code != 0 || strings.Contains(r.stdout, "bob@example.org") {
		t.Errorf("-bp after -q: %s", r)
	}
}

// TestSendmailListLookup: which outbox -bp lists, by what the
// configuration says: the default one when there is no configuration or
// no default account to queue for; an error (exit 78) for a file -C names
// that is missing, an account -a names that is not defined, or a file
// that cannot be parsed; the environment's over the account's queue_dir.
func TestSendmailListLookup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	withQueue := writeFile(t, "msmtprc", []byte("account default\nhost mail.example.org\nfrom a@example.org\nqueue_dir "+filepath.Join(dir, "account-outbox")+"\n"), 0o600)
	noDefault := writeFile(t, "msmtprc", []byte("account other\nhost mail.example.org\nqueue_dir "+filepath.Join(dir, "other-outbox")+"\n"), 0o600)
	broken := writeFile(t, "msmtprc", []byte("account default\nhost mail.example.org\nno_such_command x\n"), 0o600)
	state := filepath.Join(dir, "state")
	def := filepath.Join(state, "tlsmail", "queue")
	for _, tc := range []struct {
		name   string
		system string
		args   []string
		env    []string
		code   int
		listed string // the outbox -bp names
	}{
		{"no configuration", "/nonexistent/msmtprc", nil, nil, 0, def},
		{"no default account", noDefault, nil, nil, 0, def},
		{"the account's queue_dir", withQueue, nil, nil, 0, filepath.Join(dir, "account-outbox")},
		{"the environment over queue_dir", withQueue, nil, []string{"TLSMAIL_QUEUE_DIR=" + filepath.Join(dir, "env-outbox")}, 0, filepath.Join(dir, "env-outbox")},
		{"-a names an account", noDefault, []string{"-a", "other"}, nil, 0, filepath.Join(dir, "other-outbox")},
		{"-C missing", "/nonexistent/msmtprc", []string{"-C", filepath.Join(dir, "missing")}, nil, exitConfig, ""},
		{"-a not defined", withQueue, []string{"-a", "nosuch"}, nil, exitConfig, ""},
		{"unparseable", broken, nil, nil, exitConfig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"TLSMAIL_SYSTEM_CONFIG=" + tc.system, "XDG_STATE_HOME=" + state}, tc.env...)
			r := proc{args: append([]string{"sendmail", "-bp"}, tc.args...), env: env}.run(t)
			if r.code != tc.code || tc.listed != "" && !strings.Contains(r.stdout, "The outbox "+tc.listed+" is empty") {
				t.Errorf("exit %d, want %d listing %q: %s", r.code, tc.code, tc.listed, r)
			}
		})
	}
}

// TestSendmailPasswordevalOptionKeepsQueueDir: msmtp's --passwordeval on
// the sendmail command line replaces the account's password source, not
// its file: the message is queued in the queue_dir of the account -C
// names (and -bp lists it there, -q delivers it with the command's
// password, not the one written in the file), and -P says the account comes from that file. Before, the
// account counted as no file's: the message went to the outbox of the
// file `send` would look for (here the default one), and -P said the
// account came from the environment.
func TestSendmailPasswordevalOptionKeepsQueueDir(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	outbox := filepath.Join(t.TempDir(), "account-outbox")
	// The file's own password is wrong: only the command's logs in
	// (README: --passwordeval replaces the account's password too).
	cfg := m.configWith(t, "queue_dir "+outbox+"\npassword stale-file-password\n")
	pw := writeFile(t, "pw", []byte(testPassword+"\n"), 0o600)
	home := t.TempDir()
	env := []string{"TLSMAIL_SYSTEM_CONFIG=/nonexistent/msmtprc", "HOME=" + home, "XDG_STATE_HOME=" + filepath.Join(home, "state")}
	run := func(args ...string) result {
		args = append([]string{"sendmail", "-C", cfg, "--passwordeval=cat " + pw}, args...)
		return proc{args: args, env: env, stdin: strings.NewReader("Subject: option\n\nbody\n")}.run(t)
	}
	if r := run("-P", "bob@example.org"); r.code != 0 || !strings.Contains(r.stdout, "using account default from "+cfg) {
		t.Errorf("-P does not name the file the account comes from: %s", r)
	}
	if r := run("-odq", "bob@example.org"); r.code != 0 {
		t.Fatalf("-odq: %s", r)
	}
	if items, _ := filepath.Glob(filepath.Join(outbox, "*", "*")); len(items) == 0 {
		t.Fatalf("nothing was queued in the account's queue_dir %s", outbox)
	}
	if r := run("-bp"); r.code != 0 || !strings.Contains(r.stdout, "bob@example.org") {
		t.Errorf("-bp does not list the message in the account's queue_dir: %s", r)
	}
	if r := run("-q"); r.code != 0 || storedCount(t, m.srv) != 1 {
		t.Errorf("-q: %s (stored %d, want 1)", r, storedCount(t, m.srv))
	}
}
