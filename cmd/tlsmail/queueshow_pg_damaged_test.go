package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestQueueShowPostgresDamaged: on PostgreSQL, queue show of an item whose
// stored copy does not read as it was written exits 70 as the spool's
// damaged file does, with advice to send the message again and remove the
// item: a failed item whose message was lost (its stored length differs
// from the size it was queued with), and a queued row whose envelope
// cannot be read. Before, both exited 75 (EX_TEMPFAIL), which tells a
// script to try again, and trying again shows the same.
func TestQueueShowPostgresDamaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, conn, q := pgInitQueue(t, "showdamaged")
	enqueue := func() string {
		id, err := q.EnqueueData(ctx, outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org"}},
			outbox.Data{Settings: []byte(`{}`)}, bytes.NewReader([]byte("Subject: x\r\n\r\nbody\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	lost, badEnv := enqueue(), enqueue()
	// lost's message row goes; a run moves it to the failed items with an
	// empty content. badEnv's envelope is made unreadable after the run.
	if _, err := conn.Exec(ctx, `DELETE FROM tlsmail.message WHERE id = $1`, lost); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(ctx, outbox.RunConfig{Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			report(it, outbox.Result{Outcome: outbox.Temporary, Err: context.DeadlineExceeded})
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.message SET envelope = '{"from": "a@example.org", "to": "b@example.net"}' WHERE id = $1`, badEnv); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, id, says string }{
		{"message lost", lost, "was lost"},
		{"unreadable row", badEnv, "cannot be read"},
	} {
		r := cli{args: []string{"queue", "show", "--queue-url", url, tc.id}}.run(t)
		if r.code != exitSoftware || r.stdout != "" || !strings.Contains(r.stderr, tc.says) ||
			!strings.Contains(r.stderr, "send the message again") || !strings.Contains(r.stderr, "remove the item") {
			t.Errorf("%s: queue show: want exit %d saying %q, to send the message again and remove the item:\n%s", tc.name, exitSoftware, tc.says, r)
		}
	}
}

// TestQueueShowPostgresEnvelopeUnreadable: queue show --envelope of a
// failed item whose envelope cannot be read (a row changed outside
// tlsmail, moved to the failed items by a run) says the envelope is
// unreadable and why, and prints no sender: before, it printed
// "sender: <>" and no recipient, which reads as a message from the null
// sender.
func TestQueueShowPostgresEnvelopeUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, conn, q := pgInitQueue(t, "showbadenv")
	content := "Subject: x\r\n\r\nbody\r\n"
	id, err := q.EnqueueData(ctx, outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org"}},
		outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.message SET envelope = '{"from": "a@example.org", "to": "b@example.net"}' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Run(ctx, outbox.RunConfig{Deliver: func(context.Context, []*outbox.Item, func(*outbox.Item, outbox.Result)) error {
		return nil
	}}); err != nil || st.Failed != 1 {
		t.Fatalf("Run = %+v, %v; want the unreadable row failed", st, err)
	}
	r := cli{args: []string{"queue", "show", "--envelope", "--queue-url", url, id}}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "\nstate: failed\n") || !strings.Contains(r.stdout, "\nenvelope: unreadable: its envelope is not valid") ||
		strings.Contains(r.stdout, "sender:") || strings.Contains(r.stdout, "recipient:") || !strings.Contains(r.stdout, "\n"+content+"*** MESSAGE FILE END") {
		t.Errorf("queue show --envelope of a failed item whose envelope is unreadable: want it said, no sender or recipient line, the message:\n%s", r)
	}
	// The listings say so too: not an empty recipient list, not a null
	// sender in JSON.
	r = cli{args: []string{"queue", "list", "--failed", "--queue-url", url}}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, id+"  ") || !strings.Contains(r.stdout, "  (envelope unreadable)  ") {
		t.Errorf("queue list --failed: want the item's envelope said unreadable:\n%s", r)
	}
	r = cli{args: []string{"queue", "list", "--json", "--queue-url", url}}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, `"envelope_error": "its envelope is not valid`) && !strings.Contains(r.stdout, `"envelope_error":"its envelope is not valid`) {
		t.Errorf("queue list --json: want the failed item's envelope_error:\n%s", r)
	}
}
