package pgqueue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresOversizeRowNotRead: a row inserted by a host that can only
// enqueue bounds the memory of the workers that claim it, as its settings
// (MaxSettings) and its message (MaxSize) already did: an envelope over
// pgqueue.MaxEnvelope is not read (the claim moves the row to the failed
// items, saying why; a listing skips it), and the text of a last error or
// a failure's reason is read up to pgqueue.MaxErrorText. Before, one row
// of 33 MB of recipients and a 160 MB last error took 612 MB in `queue
// run` (and 620 MB in `queue show --envelope`, 925 MB in `queue list`);
// a claim takes up to 250 rows of one group, which the inserting host
// chooses.
func TestPostgresOversizeRowNotRead(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	var ids []string
	for i := range 3 {
		id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	bigEnv, bigErr := ids[0], ids[1]
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.message SET envelope = jsonb_set(envelope, '{to}',
		(SELECT jsonb_agg('r' || i || '@example.org') FROM generate_series(1, $2::int) i)) WHERE id = $1`,
		bigEnv, pgqueue.MaxEnvelope/10); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET last_error = repeat('e', $2::int) WHERE id = $1`, bigErr, 8*pgqueue.MaxErrorText); err != nil {
		t.Fatal(err)
	}

	items, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == bigEnv {
			t.Errorf("List read the item whose envelope is over %d bytes (%d recipients)", pgqueue.MaxEnvelope, len(it.Envelope.To))
		}
		if len(it.LastError) > 4*pgqueue.MaxErrorText {
			t.Errorf("List read a last error of %d bytes; want at most %d characters", len(it.LastError), pgqueue.MaxErrorText)
		}
	}
	if it, err := q.Get(bigErr); err != nil || len(it.LastError) > 4*pgqueue.MaxErrorText {
		t.Errorf("Get: %v; a last error of %d bytes", err, len(it.LastError))
	}

	var got []string
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			got = append(got, it.ID)
			report(it, outbox.Result{Outcome: outbox.Delivered})
		}
		return nil
	}})
	if err != nil || st.Delivered != 2 || st.Failed != 1 {
		t.Errorf("Run = %+v, %v (delivered %q); want 2 delivered, the oversize envelope's row failed", st, err, got)
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != 1 || failed[0].ID != bigEnv || !strings.Contains(failed[0].Reason, "envelope") {
		t.Errorf("ListFailed = %v, %v; want %s, failed for its envelope", failed, err, bigEnv)
	}
}

// TestPostgresEnqueueEnvelopeLimit: an envelope a claim would not read
// (over pgqueue.MaxEnvelope as PostgreSQL prints it: about 100,000
// recipients) is refused at enqueue, nothing stored, instead of being
// queued and then moved to the failed items by the first run.
func TestPostgresEnqueueEnvelopeLimit(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	e := outbox.Envelope{From: "a@example.org"}
	for i := 0; i < pgqueue.MaxEnvelope/16; i++ {
		e.To = append(e.To, "r"+strings.Repeat("0", 4)+"@example.org")
	}
	if _, err := q.EnqueueData(ctx, e, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), "recipients") {
		t.Errorf("enqueue of %d recipients: %v; want an error naming the recipients", len(e.To), err)
	}
	if n, err := q.Count(); err != nil || n != 0 {
		t.Errorf("%d items queued (%v); want none", n, err)
	}
}
