package pgqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresMaxAttemptsRow: a row's attempts count is the inserter's
// to choose (an application host's INSERT may set it). At the integer's
// largest, a deferral's "attempts + 1" overflowed: the UPDATE failed, the
// item kept its lease and came back every lease instead of after the
// backoff, and expiring it failed the same way, so it never left. Now the
// count stops at its largest: the deferral is recorded and an old item
// expires into the failed table.
func TestPostgresMaxAttemptsRow(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	conn := dial(t, url)
	refused := map[string]any{"host": "127.0.0.1", "port": 1, "tls": "none", "user": "u", "auth": "plain",
		"secret": map[string]string{"source": "env", "ref": "X"}}
	deferred, old := insertRow(t, url, refused), insertRow(t, url, refused)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET attempts = 2147483647`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET created = created - interval '30 days' WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := submit.RunPass(rctx, q, submit.PassConfig{}); err != nil {
		t.Fatal(err)
	}
	var owner *string
	var lastErr string
	if err := conn.QueryRow(ctx, `SELECT lease_owner, last_error FROM tlsmail.outbox WHERE id = $1`, deferred).Scan(&owner, &lastErr); err != nil {
		t.Fatal(err)
	}
	if owner != nil || lastErr == "" {
		t.Errorf("the deferral was not recorded: lease owner %v, last error %q", owner, lastErr)
	}
	if n, err := q.CountFailed(); err != nil || n != 1 {
		t.Errorf("%d failed items, %v; want the old one expired", n, err)
	}
}
