package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSendQueueUnusableAccount: an account submit.Enqueue refuses (here a
// password given where its environment variable's name belongs) is the
// user's configuration, nothing queued: exit 78 with the account's own fix,
// not exit 75 "queue" with "check the outbox directory's permissions and
// free space", which told a sendmail caller to try again. The value is
// never repeated.
func TestSendQueueUnusableAccount(t *testing.T) {
	t.Parallel()
	q := filepath.Join(t.TempDir(), "q")
	r := cli{args: []string{"send", "--queue", "--queue-dir", q, "--server", "127.0.0.1:1", "--from", "ann@example.com",
		"--to", "bob@example.org", "--subject", "s", "--body", "b", "--user", "joe", "--password-env", "PW=s3cret"}}.run(t)
	out := r.stdout + r.stderr
	if r.code != exitConfig || strings.Contains(out, "free space") || !strings.Contains(out, "error kind config") {
		t.Errorf("exit %d, want %d (config) with the account's fix:\n%s", r.code, exitConfig, r)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("the value is repeated:\n%s", r)
	}
}
