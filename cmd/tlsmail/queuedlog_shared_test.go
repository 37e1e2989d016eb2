package main

import (
	"encoding/json"
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
