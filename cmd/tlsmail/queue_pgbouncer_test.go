package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpg"
)

// TestQueuePostgresPgBouncer: the command line through PgBouncer in
// transaction pooling, with a URL that names no query mode (as an
// application host's would): `queue init` twice, send --defer, queue
// list, show and remove, and queue run delivering each remaining message
// once, none left. A URL asking for describe_exec through the pooler
// exits 78 naming default_query_exec_mode=exec.
//
// Before, the second `queue init` failed ("prepared statement ... already
// exists": the first had prepared it on the server connection the pooler
// gave the second), and a URL with describe_exec was taken.
func TestQueuePostgresPgBouncer(t *testing.T) {
	t.Parallel()
	url := pg.Bouncer(t, pgDB(t, "bouncer"), testpg.Bouncer{PoolMode: "transaction", PoolSize: 2})
	for i := range 2 {
		if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
			t.Fatalf("queue init #%d through PgBouncer:\n%s", i+1, r)
		}
	}
	srv := startServer(t, nil)
	send := baseSend(srv.SMTPAddr(), srv.CAFile())
	for i := range 3 {
		if r := (cli{args: append(send, "--defer", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
			t.Fatalf("send --defer #%d through PgBouncer:\n%s", i+1, r)
		}
	}
	r := runTLSMail(t, "queue", "list", "--json", "--queue-url", url)
	var q queueJSON
	if err := json.Unmarshal([]byte(r.stdout), &q); r.code != 0 || err != nil || len(q.Queued) != 3 {
		t.Fatalf("queue list --json: want 3 queued (%v)\n%s", err, r)
	}
	id := q.Queued[0].ID
	if r = runTLSMail(t, "queue", "show", "--queue-url", url, id); r.code != 0 || !strings.Contains(r.stdout, "Subject:") {
		t.Fatalf("queue show %s:\n%s", id, r)
	}
	if r = runTLSMail(t, "queue", "remove", "--queue-url", url, id); r.code != 0 {
		t.Fatalf("queue remove %s:\n%s", id, r)
	}
	if r = (cli{args: []string{"queue", "run", "--queue-url", url, "--queue-secrets", "env"}, env: authEnv()}).run(t); r.code != 0 {
		t.Fatalf("queue run through PgBouncer:\n%s", r)
	}
	if ms := waitMessages(t, srv, 2); len(ms) != 2 {
		t.Fatalf("the server got %d messages, want 2", len(ms))
	}
	if r = runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "0 queued, 0 failed") {
		t.Fatalf("queue list --count after the run:\n%s", r)
	}
	if ms, err := srv.Messages(); err != nil || len(ms) != 2 {
		t.Fatalf("the server has %d messages (%v), want 2: each once", len(ms), err)
	}
	r = runTLSMail(t, "queue", "list", "--queue-url", url+"&default_query_exec_mode=describe_exec")
	if r.code != exitConfig || !strings.Contains(r.stderr, "default_query_exec_mode=exec") {
		t.Fatalf("queue list with describe_exec through PgBouncer: want exit %d naming default_query_exec_mode=exec\n%s", exitConfig, r)
	}
}
