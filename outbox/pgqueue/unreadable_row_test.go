package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresUnreadableRowDoesNotBlock: a queued row that cannot be read
// as an item (an envelope of the wrong shape, written by hand or by
// another program; a message row removed by hand) no longer stops the
// queue: before, List and Get failed, and every Claim failed and blamed
// the database as unavailable, so nothing was delivered. Now List skips
// such a row (as the spool skips a corrupt file), Get names it with an
// error that is not "unavailable", and a run moves it to the failed items
// with a reason that says what happened and what to do, and delivers the
// rest.
func TestPostgresUnreadableRowDoesNotBlock(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	srv, a := startServer(t)
	var ids []string
	for i := range 4 {
		id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	badEnv, noMessage := ids[0], ids[2]
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.message SET envelope = '{"from": "a@example.org", "to": "b@example.net"}' WHERE id = $1`, badEnv); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM tlsmail.message WHERE id = $1`, noMessage); err != nil {
		t.Fatal(err)
	}

	items, err := q.List()
	if err != nil || len(items) != 2 {
		t.Fatalf("List = %d items, %v; want the 2 readable ones", len(items), err)
	}
	_, err = q.Get(badEnv)
	if err == nil || errors.Is(err, pgqueue.ErrUnavailable) || !strings.Contains(err.Error(), badEnv) {
		t.Fatalf("Get of the unreadable item = %v; want an error naming it, not the database unavailable", err)
	}
	if !errors.Is(err, outbox.ErrDamaged) {
		t.Errorf("Get of the unreadable item = %v; want outbox.ErrDamaged (reading it again reads the same)", err)
	}

	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Delivered != 2 || st.Failed != 2 {
		t.Fatalf("Run = %+v, %v; want 2 delivered, 2 failed", st, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if n, seen := received(t, wctx, srv, 2); n != 2 || seen[msg(1)] != 1 || seen[msg(3)] != 1 {
		t.Errorf("the server got %d messages %v; want messages 1 and 3 once", n, seen)
	}
	if n, _ := q.Count(); n != 0 {
		t.Errorf("%d items still queued", n)
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != 2 {
		t.Fatalf("ListFailed = %d items, %v; want 2", len(failed), err)
	}
	for _, it := range failed {
		want := map[string]string{badEnv: "envelope", noMessage: "message is missing"}[it.ID]
		if want == "" || !it.Permanent || !strings.Contains(it.Reason, "cannot be read") || !strings.Contains(it.Reason, want) ||
			!strings.Contains(it.Reason, "send the message again") {
			t.Errorf("failed item %s: permanent %v, reason %q; want it to say the item cannot be read (%s) and what to do", it.ID, it.Permanent, it.Reason, want)
		}
	}
	if got := content(t, failed[0]); failed[0].ID == badEnv && got != msg(0) {
		t.Errorf("the failed item holds %q, want its message", got)
	}
}

// TestPostgresUnreadableAnswerNotUnavailable: an answer the program cannot
// read (a NULL where the schema has NOT NULL, after a hand-made change of
// the table) is reported as such, not as the database being unavailable
// (which tells the user to check that PostgreSQL is running, and made
// the CLI exit 75, "try again later"), and a claim that meets it leases
// nothing.
func TestPostgresUnreadableAnswerNotUnavailable(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(0))); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `ALTER TABLE tlsmail.outbox ALTER last_error DROP NOT NULL;
		UPDATE tlsmail.outbox SET last_error = NULL`); err != nil {
		t.Fatal(err)
	}
	_, err := q.List()
	var oe *pgqueue.Error
	if err == nil || errors.Is(err, pgqueue.ErrUnavailable) || !errors.As(err, &oe) || !strings.Contains(oe.Fix, "schema") {
		t.Fatalf("List = %v; want an error saying the answer cannot be read, not that the database is unavailable", err)
	}
	// A claim whose answer cannot be read leases nothing: the item is not
	// held for a lease's length by a claim that returned an error.
	_, err = q.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour))
	if err == nil || errors.Is(err, pgqueue.ErrUnavailable) {
		t.Fatalf("Claim = %v; want an error saying the answer cannot be read", err)
	}
	var leased int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tlsmail.outbox WHERE lease_owner IS NOT NULL`).Scan(&leased); err != nil || leased != 0 {
		t.Errorf("%d items leased after the failed claim (%v); want none", leased, err)
	}
}
