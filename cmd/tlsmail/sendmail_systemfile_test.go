package main

import (
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
