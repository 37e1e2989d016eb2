package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// insertHostileRow writes a queue row and its message by SQL, as a host that may
// only enqueue can (docs/queue-postgres.md, "Who can write the queue"),
// with the settings {} (the group of the test's enqueues); set is an
// UPDATE's SET list applied to the outbox row after.
func insertHostileRow(t *testing.T, q *pgqueue.Queue, id, envelope, set string) {
	t.Helper()
	ctx := context.Background()
	if _, err := q.Pool().Exec(ctx, `WITH m AS (INSERT INTO tlsmail.message (id, envelope, settings, content)
			VALUES ($1, (`+envelope+`), '{}', convert_to('Subject: hostile\r\n\r\nx\r\n', 'UTF8')))
		INSERT INTO tlsmail.outbox (id, group_key, size) VALUES ($1, md5('{}'), 25)`, id); err != nil {
		t.Fatal(err)
	}
	if set != "" {
		if _, err := q.Pool().Exec(ctx, `UPDATE tlsmail.outbox SET `+set+` WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
}

// allocated is how many bytes the program allocated while f ran, counted
// from a collection (what came before is not counted).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPostgresHostileEnvelopeBounded: a row whose envelope is 16 MiB
// (written by SQL: a host that may enqueue can write any jsonb, up to
// 1 GB) is not loaded by a claim, which moves it to the failed items with
// a reason naming its size and delivers the rest; listing the failed
// items does not load it either. Before, the claim read every envelope
// whole (250 rows of 200 MB: 50 GB) and handed this one to the deliverer.
// Enqueue refuses an envelope over pgqueue.MaxEnvelope with
// ErrEnvelopeTooLarge and takes one at the documented capacity (1,000
// recipients of 254 characters), which a claim reads.
func TestPostgresHostileEnvelopeBounded(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	good, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(1)))
	if err != nil {
		t.Fatal(err)
	}
	const huge = 16 << 20
	insertHostileRow(t, q, "0hostile", `SELECT jsonb_build_object('from', 'a@example.org', 'to', jsonb_build_array(repeat('x', 16777216)))`, "")
	q.Count() // a connection in the pool, before the measurement
	var items []*outbox.Item
	alloc := allocated(func() { items, err = q.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour)) })
	if err != nil {
		t.Fatal(err)
	}
	if alloc > huge/4 {
		t.Errorf("a claim with a %d-byte envelope among its rows allocated %d bytes", huge, alloc)
	}
	if len(items) != 1 || items[0].ID != good {
		t.Fatalf("claimed %d items; want only the enqueued one", len(items))
	}
	var failed []*outbox.Item
	alloc = allocated(func() { failed, err = q.ListFailed() })
	if err != nil || len(failed) != 1 || failed[0].ID != "0hostile" ||
		!strings.Contains(failed[0].Reason, "envelope is") || !strings.Contains(failed[0].Reason, "larger than") {
		t.Fatalf("failed items %v, %v; want the hostile row with a reason naming its envelope's size", failed, err)
	}
	if alloc > huge/4 {
		t.Errorf("listing the failed item with a %d-byte envelope allocated %d bytes", huge, alloc)
	}

	// Enqueue: the documented capacity is accepted and read back; one
	// more recipient's worth of bytes is refused, nothing stored.
	addr := strings.Repeat("l", 64) + "@" + strings.Repeat("d", 189) // 254 characters
	most := outbox.Envelope{From: "a@example.org", To: make([]string, 1000)}
	for i := range most.To {
		most.To[i] = addr
	}
	id, err := q.EnqueueData(ctx, most, outbox.Data{Settings: []byte(`{"x":1}`)}, strings.NewReader(msg(2)))
	if err != nil {
		t.Fatalf("an envelope of 1,000 recipients of 254 characters: %v", err)
	}
	items, err = q.Claim(ctx, 10, true, []string{id}, time.Now().Add(time.Hour))
	if err != nil || len(items) != 1 || len(items[0].Envelope.To) != 1000 {
		t.Fatalf("claim of the largest envelope: %d items, %v", len(items), err)
	}
	over := outbox.Envelope{From: "a@example.org", To: append(most.To, most.To[:100]...)}
	n, _ := q.Count()
	_, err = q.EnqueueData(ctx, over, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(3)))
	var oe *outbox.Error
	if !errors.Is(err, pgqueue.ErrEnvelopeTooLarge) || !errors.As(err, &oe) || !strings.Contains(oe.Fix, "fewer recipients") {
		t.Fatalf("an envelope of 1,100 recipients of 254 characters: %v; want ErrEnvelopeTooLarge with a fix", err)
	}
	if m, _ := q.Count(); m != n {
		t.Fatalf("%d items after the refused enqueue, %d before", m, n)
	}
}

// TestPostgresHostileLeaseAndCreated: rows written by SQL with a lease no
// runner takes (lease_until 'infinity', or two hours ahead while
// pgqueue.MaxLease is one), a creation time in the future (which made the
// age negative: the row never expired), or a last attempt in the future
// (which kept it out of every run) are claimed and expire like any other:
// a run whose deliverer defers everything, with a MaxAge of 1 ns, moves
// every one to the failed items; an infinite lease does not stop queue
// remove, and 'infinity' does not stop queue list. Before, the leased rows and the one attempted in the future
// were never claimed (counted as being delivered by another run) and the
// one created in the future was deferred for ever.
func TestPostgresHostileLeaseAndCreated(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{MaxAge: time.Nanosecond})
	envelope := `SELECT '{"from": "a@example.org", "to": ["b@example.net"]}'::jsonb`
	rows := map[string]string{
		"1lease-infinity": `lease_owner = 'evil', lease_until = 'infinity'`,
		"2lease-2h":       `lease_owner = 'evil', lease_until = clock_timestamp() + interval '2 hours'`,
		"3created-future": `created = clock_timestamp() + interval '10 years'`,
		"4created-inf":    `created = 'infinity'`,
		"5attempt-future": `last_attempt = 'infinity'`,
	}
	for id, set := range rows {
		insertHostileRow(t, q, id, envelope, set)
	}
	insertHostileRow(t, q, "6remove-me", envelope, `lease_owner = 'evil', lease_until = 'infinity'`)
	if _, err := q.List(); err != nil {
		t.Errorf("queue list with these rows: %v", err)
	}
	if err := q.Remove("6remove-me"); err != nil {
		t.Errorf("queue remove of a row leased until 'infinity': %v", err)
	}
	st, err := q.Run(ctx, outbox.RunConfig{
		Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			for _, it := range batch {
				report(it, outbox.Result{Outcome: outbox.Temporary, Err: errors.New("451 try later")})
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired != len(rows) || st.Busy != 0 || st.Deferred != 0 {
		t.Errorf("run: %d expired, %d busy, %d deferred; want all %d expired", st.Expired, st.Busy, st.Deferred, len(rows))
	}
	failed, err := q.ListFailed()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, it := range failed {
		got[it.ID] = true
		if it.Created.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: created %v, in the future", it.ID, it.Created)
		}
	}
	for id := range rows {
		if !got[id] {
			t.Errorf("%s: not expired into the failed items", id)
		}
	}
	if n, _ := q.Count(); n != 0 {
		t.Errorf("%d items left queued", n)
	}
}

// TestPostgresHostileRecipientsBounded: rows whose envelope is within
// the size a claim reads (512 KiB as jsonb prints it) but holds 127,000
// empty recipients, 4 bytes each in the text and 16 in Go (a claim of 100
// such rows kept 225 MB and allocated 1.1 GB, where the documentation
// promised about 125 MiB for 250 rows), are not loaded by a claim: it
// moves them to the failed items with a reason naming their count, and
// delivers the rest. Enqueue refuses more than 10000
// recipients, and takes that many.
func TestPostgresHostileRecipientsBounded(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	good, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(1)))
	if err != nil {
		t.Fatal(err)
	}
	const rows, each = 8, 127000
	for i := range rows {
		insertHostileRow(t, q, fmt.Sprintf("0hostile%d", i), `SELECT jsonb_build_object('from', 'a@example.org', 'to', (SELECT jsonb_agg(''::text) FROM generate_series(1, 127000)))`, "")
	}
	q.Count() // a connection in the pool, before the measurement
	var items []*outbox.Item
	alloc := allocated(func() { items, err = q.Claim(ctx, 20, true, nil, time.Now().Add(time.Hour)) })
	if err != nil {
		t.Fatal(err)
	}
	// Read whole, 8 such envelopes allocate about 90 MB.
	if alloc > 16<<20 {
		t.Errorf("a claim with %d envelopes of %d recipients allocated %d MB", rows, each, alloc>>20)
	}
	if len(items) != 1 || items[0].ID != good {
		t.Fatalf("claimed %d items; want only the enqueued one", len(items))
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != rows {
		t.Fatalf("%d failed items, %v; want the %d hostile rows", len(failed), err, rows)
	}
	for _, it := range failed {
		if !strings.Contains(it.Reason, "127000 recipients") || len(it.Envelope.To) != 0 {
			t.Fatalf("failed item %s: reason %q, %d recipients read; want a reason naming the count, the envelope not read", it.ID, it.Reason, len(it.Envelope.To))
		}
	}

	most := outbox.Envelope{From: "a@example.org", To: make([]string, pgqueue.MaxRecipients)}
	for i := range most.To {
		most.To[i] = "b@example.net"
	}
	id, err := q.EnqueueData(ctx, most, outbox.Data{Settings: []byte(`{"x":1}`)}, strings.NewReader(msg(2)))
	if err != nil {
		t.Fatalf("an envelope of MaxRecipients recipients: %v", err)
	}
	items, err = q.Claim(ctx, 10, true, []string{id}, time.Now().Add(time.Hour))
	if err != nil || len(items) != 1 || len(items[0].Envelope.To) != pgqueue.MaxRecipients {
		t.Fatalf("claim of the envelope with the most recipients: %d items, %v", len(items), err)
	}
	over := outbox.Envelope{From: "a@example.org", To: append(most.To, "c@example.net")}
	_, err = q.EnqueueData(ctx, over, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(3)))
	var oe *outbox.Error
	if !errors.Is(err, pgqueue.ErrEnvelopeTooLarge) || !errors.As(err, &oe) || !strings.Contains(oe.Fix, "fewer recipients") {
		t.Fatalf("an envelope of MaxRecipients + 1 recipients: %v; want ErrEnvelopeTooLarge with a fix", err)
	}
}
