package main

import (
	"context"
	"strings"
	"testing"
)

// TestQueuePostgresHostileIDQuoted: an item's ID on PostgreSQL is the
// row's, which any host that may enqueue chooses (docs/queue-postgres.md,
// "Who can write the queue"): one holding terminal control sequences (a
// title change, here) is printed quoted by queue list (queued and failed)
// and queue run, as its recipients and errors are. Before, the escape
// reached the terminal raw in all three.
func TestQueuePostgresHostileIDQuoted(t *testing.T) {
	url, conn := pgInitDB(t, "hostileid")
	srv := startServer(t, nil)
	deferSends(t, srv, url, 2)
	// Both rows get an ID with an OSC sequence; the second an envelope
	// that is not one, so that a run moves it to the failed items.
	if _, err := conn.Exec(context.Background(), `
		UPDATE tlsmail.message SET id = E'\x1b]0;pwned\x07' || id;
		UPDATE tlsmail.outbox SET id = E'\x1b]0;pwned\x07' || id;
		UPDATE tlsmail.message SET envelope = '{"to": 5}' WHERE id = (SELECT max(id) FROM tlsmail.message)`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"queue", "list", "--queue-url", url},
		{"queue", "run", "--queue-url", url, "--queue-secrets", "env"},
		{"queue", "list", "--failed", "--queue-url", url},
	} {
		r := cli{args: args, env: authEnv()}.run(t)
		if strings.Contains(r.stdout+r.stderr, "\x1b") {
			t.Errorf("%s: a control character reached the terminal:\n%q\n%q", strings.Join(args[:2], " "), r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, `\x1b]0;pwned`) {
			t.Errorf("%s: the item's ID is not shown quoted:\n%s", strings.Join(args[:2], " "), r)
		}
	}
}
