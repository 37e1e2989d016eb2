package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueCommandsRunEval: every command that reads msmtp's files reads
// them as msmtp does, an eval line run (config.Options.Eval). A
// ~/.msmtprc whose eval line gives the account's queue_dir: sendmail
// queues into that directory, and `queue list` and `queue run` (which
// read ~/.msmtprc for queue_dir) find it there. Before, the queue
// commands refused the file ("eval is not enabled here", exit 78) while
// sendmail read it.
func TestQueueCommandsRunEval(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	qdir := filepath.Join(t.TempDir(), "evalqueue")
	rc := fmt.Sprintf(`account default
host 127.0.0.1
port 9
tls off
from ann@example.com
eval echo queue_dir %s
`, qdir)
	writeFileAt(t, filepath.Join(home, ".msmtprc"), rc, 0o600)
	env := []string{"HOME=" + home, "TLSMAIL_SYSTEM_CONFIG=/nonexistent/msmtprc", "XDG_STATE_HOME=" + filepath.Join(home, "state")}
	r := proc{args: []string{"sendmail", "-odq", "bob@example.org"}, env: env,
		stdin: strings.NewReader("Subject: eval\n\nbody\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("sendmail -odq: %s", r)
	}
	if ents, _ := os.ReadDir(filepath.Join(qdir, "msg")); len(ents) == 0 {
		t.Fatalf("sendmail did not queue in the eval line's queue_dir %s: %s", qdir, r)
	}
	for _, args := range [][]string{{"queue", "list", "--json"}, {"queue", "run"}, {"queue", "list", "--json", "--config", filepath.Join(home, ".msmtprc")}} {
		r := proc{args: args, env: env}.run(t)
		// queue run: the server (port 9, discard) is not there: 75, the
		// message deferred; what matters is that the file was read.
		if strings.Contains(r.stderr, "eval") || r.code != 0 && r.code != exitTempFail {
			t.Errorf("%q: %s", args, r)
		}
		if args[1] == "list" && (!strings.Contains(r.stdout, qdir) || !strings.Contains(r.stdout, "bob@example.org")) {
			t.Errorf("%q does not list the outbox %s of the eval line's queue_dir: %s", args, qdir, r)
		}
		if args[1] == "run" && !strings.Contains(r.stdout, "1 deferred") {
			t.Errorf("%q did not run the outbox %s of the eval line's queue_dir: %s", args, qdir, r)
		}
	}
}
