package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueReadOnlyMissingDir: the commands that only read the outbox
// (queue list, its --json and --count, queue show, queue remove,
// sendmail -bp) do not create a spool directory that does not exist (a
// mistyped --queue-dir, the default directory on a machine that never
// queued anything): list prints the empty outbox and exits 0, as mailq
// and postqueue -p do for an empty queue; show and remove exit 66 (the
// ID is not in it). Before, each of them made DIR/{tmp,msg,failed,corrupt}.
// queue run, which writes, still makes it.
func TestQueueReadOnlyMissingDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "typo")
	const id = "0123456789abcdef0123456789abcdef"
	absent := func(t *testing.T, what, path string) {
		t.Helper()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s made %s (stat: %v)", what, path, err)
		}
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a part of standard output
		stderr string // a part of standard error
	}{
		{[]string{"queue", "list"}, 0, "The outbox " + dir + " is empty.", ""},
		{[]string{"queue", "list", "--failed"}, 0, "The outbox " + dir + " is empty.", ""},
		{[]string{"queue", "list", "--json"}, 0, `"queued": [],`, ""},
		{[]string{"queue", "list", "--count"}, 0, "0 queued, 0 failed in " + dir, ""},
		{[]string{"queue", "show", id}, exitNoInput, "", "is not in the outbox " + dir},
		{[]string{"queue", "show", "--envelope", id}, exitNoInput, "", "is not in the outbox " + dir},
		{[]string{"queue", "remove", id}, exitNoInput, "", "is not in the outbox " + dir},
		{[]string{"sendmail", "-bp"}, 0, "The outbox " + dir + " is empty.", ""},
	} {
		args := append(append([]string{}, tc.args...), "--queue-dir", dir)
		if tc.args[0] == "sendmail" {
			args = []string{"sendmail", "-bp", "--queue-dir=" + dir}
		}
		r := cli{args: args}.run(t)
		if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: want exit %d, %q on standard output, %q on standard error:\n%s", tc.args, tc.code, tc.stdout, tc.stderr, r)
		}
		absent(t, strings.Join(tc.args, " "), dir)
	}

	// The default outbox on a fresh machine: $XDG_STATE_HOME/tlsmail/queue,
	// where XDG_STATE_HOME itself does not exist yet.
	state := filepath.Join(base, "state")
	def := filepath.Join(state, "tlsmail", "queue")
	r := cli{args: []string{"queue", "list"}, env: []string{"XDG_STATE_HOME=" + state}}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "The outbox "+def+" is empty.") {
		t.Errorf("queue list of the default outbox on a fresh machine:\n%s", r)
	}
	absent(t, "queue list of the default outbox", state)

	// queue run writes: it makes the spool, as send --queue and sendmail do.
	if r := (cli{args: []string{"queue", "run", "--queue-dir", dir}}).run(t); r.code != 0 {
		t.Errorf("queue run of a missing spool:\n%s", r)
	}
	if fi, err := os.Stat(filepath.Join(dir, "msg")); err != nil || !fi.IsDir() {
		t.Errorf("queue run did not make the spool: %v", err)
	}
}
