package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSendmailNoConfigNamesSystemFile: sendmail with no configuration file
// at all says where to write one, and the system file it names is the one
// it read (config.SystemFile: $TLSMAIL_SYSTEM_CONFIG when set). Before, the
// fix named /etc/msmtprc whatever TLSMAIL_SYSTEM_CONFIG said, a file this
// process never reads.
func TestSendmailNoConfigNamesSystemFile(t *testing.T) {
	t.Parallel()
	sys := filepath.Join(t.TempDir(), "system-msmtprc")
	r := proc{args: []string{"sendmail", "bob@example.org"}, env: []string{"TLSMAIL_SYSTEM_CONFIG=" + sys},
		stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
	_, fix, _ := strings.Cut(r.stderr, "fix:")
	fix, _, _ = strings.Cut(fix, "\n")
	if r.code != exitConfig || !strings.Contains(fix, sys) || strings.Contains(fix, "/etc/msmtprc") {
		t.Errorf("sendmail without a configuration: %s; want exit %d and a fix naming the system file %s", r, exitConfig, sys)
	}
}

// TestSendmailListAutoFromNoMaildomain: listing or running the queue needs
// no sender, so an account with auto_from on and no maildomain (which
// sending refuses, exit 78) does not stop sendmail -bp and -q.
func TestSendmailListAutoFromNoMaildomain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rc := filepath.Join(dir, "msmtprc")
	text := "account a\nhost mail.example.org\nauto_from on\nqueue_dir " + filepath.Join(dir, "q") + "\naccount default : a\n"
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"TLSMAIL_SYSTEM_CONFIG=" + filepath.Join(dir, "none"), "USER=joe"}
	for _, args := range [][]string{{"sendmail", "-C", rc, "-bp"}, {"sendmail", "-C", rc, "-q"}} {
		if r := (proc{args: args, env: env}).run(t); r.code != 0 {
			t.Errorf("%v: %s; want exit 0 (no sender needed)", args, r)
		}
	}
	r := proc{args: []string{"sendmail", "-C", rc, "bob@example.org"}, env: env, stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "maildomain") {
		t.Errorf("sending: %s; want exit %d naming maildomain", r, exitConfig)
	}
}
