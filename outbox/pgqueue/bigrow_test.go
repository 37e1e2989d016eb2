package pgqueue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresLongErrorTextNotRead: a row inserted by a host that can
// only enqueue bounds the memory of those who read it in its error text
// too, as in its envelope (MaxEnvelope) and settings (MaxSettings): a
// last error or a failure's reason is read up to pgqueue.MaxErrorText
// characters by a listing, Get and a claim. Before, one row with a 160 MB
// last error took about 600 MB in `queue run`, `queue show --envelope`
// and `queue list`, and a claim takes up to 250 rows of one group, which
// the inserting host chooses.
func TestPostgresLongErrorTextNotRead(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	var ids []string
	for i := range 2 {
		id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET last_error = repeat('e', $2::int) WHERE id = ANY($1)`, ids, 8*pgqueue.MaxErrorText); err != nil {
		t.Fatal(err)
	}
	check := func(what string, it *outbox.Item) {
		t.Helper()
		if len(it.LastError) > 4*pgqueue.MaxErrorText || len(it.Reason) > 4*pgqueue.MaxErrorText {
			t.Errorf("%s read a last error of %d bytes and a reason of %d; want at most %d characters each", what, len(it.LastError), len(it.Reason), pgqueue.MaxErrorText)
		}
	}
	items, err := q.List()
	if err != nil || len(items) != 2 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}
	for _, it := range items {
		check("List", it)
	}
	it, err := q.Get(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	check("Get", it)
	// The claim: the deliverer sees the items as claimed (and delivers
	// them); then a failed item, written by SQL, for ListFailed and Get.
	if _, err := q.Run(ctx, outbox.RunConfig{Force: true, Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			check("a claim", it)
			report(it, outbox.Result{Outcome: outbox.Delivered})
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(3)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tlsmail.failed (id, created, envelope, settings, group_key, content, size, attempts, last_error, failed_at, reason, permanent)
		SELECT o.id, o.created, m.envelope, m.settings, o.group_key, m.content, o.size, 1, repeat('e', $2::int), now(), repeat('r', $2::int), true
		FROM tlsmail.outbox o JOIN tlsmail.message m USING (id) WHERE o.id = $1`, id, 8*pgqueue.MaxErrorText); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM tlsmail.outbox WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != 1 {
		t.Fatalf("ListFailed = %d items, %v", len(failed), err)
	}
	check("ListFailed", failed[0])
	if it, err := q.Get(id); err != nil {
		t.Fatal(err)
	} else {
		check("Get of the failed item", it)
	}
}
