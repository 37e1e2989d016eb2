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

// TestEvalRunsOncePerSend: a fresh message through an account whose
// password is written in the file reads the file once, so its eval lines
// run once (msmtp runs them once per message: they may prompt, change
// things or take time). The password is taken from the account read
// (submit.Connector.Loaded), for a direct send and for the delivery from
// the outbox that follows queueing (send --queue, sendmail) alike; the
// outbox keeps only the reference. Before, the password was read by
// loading the file again, and the eval command ran twice.
func TestEvalRunsOncePerSend(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	for _, tc := range []struct {
		name string
		args func(cfg string) []string
	}{
		{"send", func(cfg string) []string {
			return []string{"send", "--config", cfg, "--to", "bob@example.org", "--subject", "s", "--body", "b"}
		}},
		{"send --queue", func(cfg string) []string {
			return []string{"send", "--queue", "--config", cfg, "--to", "bob@example.org", "--subject", "s", "--body", "b"}
		}},
		{"sendmail -C", func(cfg string) []string { return []string{"sendmail", "-C", cfg, "bob@example.org"} }},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			counter := filepath.Join(t.TempDir(), "counter")
			cfg := m.configWith(t, "eval echo ran >> "+counter+"; echo from ann@example.com\n")
			r := proc{args: tc.args(cfg), env: m.env(), stdin: strings.NewReader("Subject: s\n\nb\n")}.run(t)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("%s: %s", tc.name, r)
			}
			data, err := os.ReadFile(counter)
			if err != nil {
				t.Fatalf("%s: the eval command did not run: %v", tc.name, err)
			}
			if n := strings.Count(string(data), "ran"); n != 1 {
				t.Errorf("%s: the eval command ran %d times for one message, want once", tc.name, n)
			}
		})
	}
	m.wantEmptyOutbox(t, "after the sends")
}
