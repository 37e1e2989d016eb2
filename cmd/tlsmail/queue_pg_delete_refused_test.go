package main

import (
	"context"
	"strings"
	"testing"
)

// TestQueuePostgresDeleteRefused: queue run whose deletion of delivered
// messages the database refuses (a trigger here; a worker role without
// DELETE in a deployment) exits 75 saying the messages were delivered and
// are still queued, and sends no more than the bound (per connection:
// --parallel 1, so that the bound is the run's). Before, it exited 0
// having sent every queued message, each to be sent again after its
// lease.
func TestQueuePostgresDeleteRefused(t *testing.T) {
	url, conn := pgInitDB(t, "deleterefused")
	srv := startServer(t, nil)
	for range 3 {
		if r := (cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
			t.Fatalf("send --defer:\n%s", r)
		}
	}
	if _, err := conn.Exec(context.Background(), `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$;
		CREATE TRIGGER refuse BEFORE DELETE ON tlsmail.outbox FOR EACH ROW EXECUTE FUNCTION public.refuse()`); err != nil {
		t.Fatal(err)
	}
	r := cli{args: []string{"queue", "run", "--queue-url", url, "--queue-secrets", "env", "--max-unrecorded", "1", "--parallel", "1"}, env: authEnv()}.run(t)
	t.Logf("queue run:\n%s", r)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "cannot record the delivery") || !strings.Contains(r.stderr, "sent again") {
		t.Fatalf("queue run with the deletion refused: want exit %d saying the delivery was not recorded\n%s", exitTempFail, r)
	}
	if ms, err := srv.Messages(); err != nil || len(ms) > 2 {
		t.Errorf("%d messages sent (%v); want at most --max-unrecorded + 1 = 2", len(ms), err)
	}
	if r := runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "3 queued, 0 failed") {
		t.Fatalf("queue list --count:\n%s", r)
	}
}
