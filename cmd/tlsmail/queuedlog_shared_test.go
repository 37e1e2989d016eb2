package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/submit"
)

// TestSharedItemLogWarningIsQuoted: a shared queue's row whose log
// settings the runner refuses gets a warning on the runner's standard
// error (a terminal, a journal), and everything in it is the row's: its
// id, its log file's name, its syslog facility. Terminal escapes and line
// breaks in them must come out quoted (safetext.Quote), as 'queue run' and
// 'queue list' print the row's errors; before, they were written raw,
// letting a row forge log lines or drive the terminal.
func TestSharedItemLogWarningIsQuoted(t *testing.T) {
	const evil = "\x1b]0;owned\x07\ntlsmail: forged line"
	settings, err := json.Marshal(map[string]any{"host": "relay.example.org", "port": 25, "tls": "none",
		"logfile": "/tmp/log" + evil, "syslog": "LOG_MAIL" + evil})
	if err != nil {
		t.Fatal(err)
	}
	it := outbox.NewItem(outbox.Item{ID: "0123abc" + evil, Envelope: outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}}},
		settings, nil)
	var stderr strings.Builder
	e := &env{stderr: &stderr, getenv: func(string) string { return "" }}
	c := &submit.Connector{Policy: submit.ItemPolicy{Shared: true}}
	queuedLog(e, c, it, outbox.Result{Outcome: outbox.Delivered}, nil)
	out := stderr.String()
	if !strings.Contains(out, "warning") {
		t.Fatalf("no warning for a refused log: %q", out)
	}
	if strings.ContainsAny(out, "\x1b\x07") || strings.Count(out, "\n") != 1 {
		t.Errorf("the warning holds the row's control characters raw: %q", out)
	}
}

// TestQueueSecretsNeedASharedQueue: --queue-secrets opts in to the secret
// sources of a shared queue's items; the spool directory is its user's own
// and its items are trusted anyway, so the flag there would be taken and
// do nothing (an operator who believes the queue shared, or who mistyped
// the queue's location, is told). Before, it was accepted silently.
func TestQueueSecretsNeedASharedQueue(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	for _, args := range [][]string{
		{"queue", "run", "--queue-dir", dir, "--queue-secrets", "env"},
		{"queue", "flush", "--queue-dir", dir, "--queue-secrets", "command"},
	} {
		r := proc{args: args}.run(t)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--queue-secrets") || !strings.Contains(r.stderr, "--queue-url") {
			t.Errorf("%v: %s; want a usage error saying --queue-secrets needs --queue-url", args, r)
		}
	}
	// --lease is a database claim's too: on a directory it was ignored.
	if r := (proc{args: []string{"queue", "run", "--queue-dir", dir, "--lease", "1m"}}).run(t); r.code != exitUsage || !strings.Contains(r.stderr, "--lease") {
		t.Errorf("queue run --queue-dir --lease: %s; want a usage error saying --lease needs --queue-url", r)
	}
	// Without them, the same run is fine.
	if r := (proc{args: []string{"queue", "run", "--queue-dir", dir}}).run(t); r.code != 0 {
		t.Errorf("queue run without --queue-secrets: %s", r)
	}
}
