package submit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestDeliverNow: the "queue it, then try it now" of a library user. The
// item is delivered over a real STARTTLS session whatever the others are
// doing; Now says how (the outcome, and what the session learnt), and
// DeliverBacklog then takes the account's items queued before it (not an
// item of another account, not one queued after it), at most Items.
func TestDeliverNow(t *testing.T) {
	t.Parallel()
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enq := func(a *Account, subject string) string {
		t.Helper()
		id, err := Enqueue(ctx, q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			strings.NewReader("Subject: "+subject+"\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	other := *a
	other.LocalName = "other.example" // another Account: another grouping key
	for _, s := range []string{"old1", "old2", "old3"} {
		enq(a, s)
	}
	enq(&other, "other")
	id := enq(a, "now")
	time.Sleep(10 * time.Millisecond) // a later creation time
	newer := enq(a, "newer")

	d := &Deliverer{Requeue: q}
	now, err := d.DeliverNow(ctx, q, id)
	if err != nil {
		t.Fatal(err)
	}
	if now.Result.Outcome != outbox.Delivered || now.Sent == nil || now.Sent.Result == nil || now.Sent.TLS == nil {
		t.Fatalf("DeliverNow = %+v, want delivered over TLS with its result", now)
	}
	if msgs, err := srv.Messages(); err != nil || len(msgs) != 1 {
		t.Fatalf("server has %d messages (%v) after DeliverNow, want 1", len(msgs), err)
	}

	st := d.DeliverBacklog(ctx, q, now, Backlog{Items: 2, Time: time.Minute})
	if st.Delivered != 2 {
		t.Errorf("backlog delivered %+v, want 2 (Items)", st)
	}
	left, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range left {
		ids = append(ids, it.ID)
	}
	if len(left) != 3 || !strings.Contains(strings.Join(ids, " "), newer) {
		t.Errorf("left in the outbox: %v, want one old item, the other account's and the newer one (%s)", ids, newer)
	}

	// An item not delivered has no backlog: nothing more is sent.
	none := d.DeliverBacklog(ctx, q, &Now{ID: id}, Backlog{Items: 10, Time: time.Minute})
	if none != (outbox.Stats{}) {
		t.Errorf("backlog after no delivery: %+v", none)
	}
}

// TestDeliverNowNotAttempted: when the attempt does not happen (here ctx
// has ended before it), Now has Outcome 0 and no error, and the item
// stays queued: what Example_deliverNow's "not tried now" branch reports
// (it printed "not sent: <nil>" for it).
func TestDeliverNowNotAttempted(t *testing.T) {
	t.Parallel()
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now, _ := (&Deliverer{Requeue: q}).DeliverNow(ctx, q, id)
	if now.Result.Outcome != 0 || now.Result.Err != nil || now.Sent != nil {
		t.Fatalf("DeliverNow with ctx ended = %+v, want no outcome, no error, nothing sent", now)
	}
	if left, err := q.List(); err != nil || len(left) != 1 || left[0].ID != id {
		t.Errorf("outbox after no attempt: %d items, %v; want the item still queued", len(left), err)
	}
	if msgs, _ := srv.Messages(); len(msgs) != 0 {
		t.Errorf("server has %d messages, want none", len(msgs))
	}
}
