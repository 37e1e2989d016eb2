package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresClaimNeverMixesSettings: rows whose group_key is equal but
// whose settings differ (as the previous release wrote them for a caller's
// own Data.Group, e.g. "g" for every item, or a row edited by hand) are
// never claimed into one batch: a batch is delivered with its first item's
// settings, so a mixed one would send an item to another account's server
// with that account's credentials. Each batch's items have equal settings,
// and every item is claimed once.
func TestPostgresClaimNeverMixesSettings(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	settings := []string{`{"host":"mx1.example","port":25}`, `{"host":"mx2.example","port":25}`, `{"host":"mx1.example","port":25}`, `{"host":"mx2.example","port":25}`}
	for _, s := range settings {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(s)}, strings.NewReader(msg(1))); err != nil {
			t.Fatal(err)
		}
	}
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET group_key = 'g'`); err != nil {
		t.Fatal(err)
	}
	claimed := 0
	for range len(settings) + 1 {
		batch, err := q.Claim(ctx, 100, true, nil, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, it := range batch[1:] {
			if string(it.Data()) != string(batch[0].Data()) {
				t.Errorf("one batch mixes %s and %s", batch[0].Data(), it.Data())
			}
		}
		claimed += len(batch)
	}
	if claimed != len(settings) {
		t.Errorf("claimed %d items, want %d", claimed, len(settings))
	}
}

// TestPostgresUnrecordedBound: a deliverer is held once MaxUnrecorded of
// its 250s wait for their deletion, so a runner that dies sends again at
// most that many delivered items per connection (and the one in flight).
// The database is made slow to delete (a trigger waits 300 ms at the
// first DELETE); each time report returns, at most MaxUnrecorded-1 of the
// items reported delivered may still be queued. Before the bound the
// deliverer went on while the deletions waited: all 40 reported, 40
// queued.
func TestPostgresUnrecordedBound(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `CREATE SEQUENCE public.deletes;
		CREATE FUNCTION public.slow_first() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('public.deletes') = 1 THEN
				PERFORM pg_sleep(0.3);
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER slow_first BEFORE DELETE ON tlsmail.outbox FOR EACH STATEMENT EXECUTE FUNCTION public.slow_first();`); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 3} {
		q := openPG(t, url, pgqueue.Options{MaxUnrecorded: limit})
		const n = 40
		for i := range n {
			if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := conn.Exec(ctx, `SELECT setval('public.deletes', 1, false)`); err != nil {
			t.Fatal(err)
		}
		worst := 0
		deliver := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			var done []string
			for _, it := range batch {
				report(it, outbox.Result{Outcome: outbox.Delivered})
				done = append(done, it.ID)
				var left int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM tlsmail.outbox WHERE id = ANY($1)`, done).Scan(&left); err != nil {
					return err
				}
				worst = max(worst, left)
			}
			return nil
		}
		st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliver, BatchSize: 250})
		if err != nil || st.Delivered != n {
			t.Fatalf("Run = %+v, %v", st, err)
		}
		if worst > limit-1 {
			t.Errorf("MaxUnrecorded %d: the deliverer went on with %d delivered items not yet deleted; at most %d", limit, worst, limit-1)
		}
		if left, err := q.Count(); err != nil || left != 0 {
			t.Errorf("MaxUnrecorded %d: %d items left (%v)", limit, left, err)
		}
	}
}

// TestPostgresDeleteCommitsAsync: the deletion of delivered items, one
// statement in its own transaction, runs with synchronous_commit off for
// that transaction alone (docs/queue-postgres.md: deletion commits are
// asynchronous), and the setting does not outlive it: with the
// database's default made on (the test cluster's is off), a trigger
// records the setting each deleting transaction sees, and an enqueue
// afterwards, through the same pool, sees on again.
func TestPostgresDeleteCommitsAsync(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `CREATE TABLE public.seen (op text NOT NULL, setting text NOT NULL);
		CREATE FUNCTION public.record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO public.seen VALUES (TG_OP, current_setting('synchronous_commit'));
			RETURN NULL;
		END $$;
		CREATE TRIGGER record_commit_mode AFTER INSERT OR DELETE ON tlsmail.outbox FOR EACH ROW EXECUTE FUNCTION public.record_commit_mode();
		DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$;`); err != nil {
		t.Fatal(err)
	}
	q := openPG(t, url, pgqueue.Options{})
	const n = 20
	for i := range n {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			report(it, outbox.Result{Outcome: outbox.Delivered})
		}
		return nil
	}
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliver, BatchSize: 250})
	if err != nil || st.Delivered != n {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	var off, all int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE setting = 'off'), count(*) FROM public.seen WHERE op = 'DELETE'`).Scan(&off, &all); err != nil {
		t.Fatal(err)
	}
	if all != n || off != n {
		t.Errorf("%d deletions seen, %d of them with synchronous_commit off; want %d and %d", all, off, n, n)
	}
	// The pool's connections (the one that deleted among them) keep the
	// server's default for anything else, an enqueue above all.
	if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(n))); err != nil {
		t.Fatal(err)
	}
	var enqueueMode string
	if err := conn.QueryRow(ctx, `SELECT setting FROM public.seen WHERE op = 'INSERT' ORDER BY ctid DESC LIMIT 1`).Scan(&enqueueMode); err != nil || enqueueMode != "on" {
		t.Errorf("an enqueue after the deletions ran with synchronous_commit %q (%v), want on", enqueueMode, err)
	}
}

// TestPostgresReleasedItemsDue: a claim moves its items' next attempt to
// the end of its lease (so that claims scan only the items no runner
// holds); items a run claimed and did not attempt are given back due at
// once, not at that lease's end: another runner claims them right away.
func TestPostgresReleasedItemsDue(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	a := openPG(t, url, pgqueue.Options{Lease: time.Hour})
	const n = 3
	for i := range n {
		if _, err := a.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	b := openPG(t, url, pgqueue.Options{Lease: time.Hour})
	claimedByA := 0
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	untried := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		claimedByA += len(batch)
		// While a holds them, b finds nothing due.
		if got, err := b.Claim(ctx, 100, false, nil, time.Now().Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("while held, another runner claimed %d items (%v)", len(got), err)
		}
		cancel() // the run is stopped: none attempted, all given back
		return ctx.Err()
	}
	if _, err := a.Run(rctx, outbox.RunConfig{Deliver: untried, BatchSize: 250}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want it cancelled", err)
	}
	if claimedByA != n {
		t.Fatalf("the first run claimed %d items, want %d", claimedByA, n)
	}
	got, err := b.Claim(ctx, 100, false, nil, time.Now().Add(time.Hour))
	if err != nil || len(got) != n {
		t.Fatalf("after the release another runner claimed %d items (%v), want %d", len(got), err, n)
	}
	for _, it := range got {
		if it.NextAttempt.Before(time.Now().Add(50 * time.Minute)) {
			t.Errorf("claimed item %s: next attempt %s, want the lease's end (an hour from now)", it.ID, it.NextAttempt)
		}
	}
}

// TestPostgresGroupSharedByConnections: the delivered items of a run's
// connections share their deletion groups: with two batches delivering
// (MaxUnrecorded 8, so a group waits for 4 items per delivering batch),
// four 250s of each are deleted by one statement, not one per batch. A
// statement-level trigger records how many rows each DELETE removed. (The
// linger is a minute here, so that the test does not depend on the
// machine's speed; a run's is groupLinger.)
func TestPostgresGroupSharedByConnections(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	for i := range 8 {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	conn := countDeletes(t, url)
	var batches [2][]*outbox.Item
	for i := range batches {
		b, err := q.Claim(ctx, 4, true, nil, time.Now().Add(time.Hour))
		if err != nil || len(b) != 4 {
			t.Fatalf("claim %d = %d items, %v", i, len(b), err)
		}
		batches[i] = b
	}
	rec := pgqueue.NewRecorder(q, time.Minute)
	b1, b2 := rec.Begin(), rec.Begin()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 4 {
			rec.Add(b1, batches[0][i])
			rec.Add(b2, batches[1][i])
		}
		rec.End(b1)
		rec.End(b2)
		rec.Close()
	}()
	groups := deletedGroups(t, conn, done, 30*time.Second)
	if len(groups) != 1 || groups[0] != 8 {
		t.Errorf("DELETE statements removed %v rows; want one statement for the 8 items of both batches", groups)
	}
	if n, err := q.Count(); err != nil || n != 0 {
		t.Errorf("%d items left (%v)", n, err)
	}
}

// TestPostgresGroupGathersAfterDeletion: the 250s that arrive while a group
// is being deleted gather into the next group (up to the same threshold,
// or the linger) instead of being deleted at once in a small group of
// their own: fewer DELETE statements, each a transaction (docs/queue-
// postgres.md, "Where the CPU goes"). MaxUnrecorded 100 with one batch
// delivering: a group waits for 50 items. The first group's statement is
// made slow; 10 items arrive meanwhile and 40 after it. Before, those 10
// were deleted alone: statements of 50, 10 and 40 rows; now 50 and 50.
func TestPostgresGroupGathersAfterDeletion(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{MaxUnrecorded: 100})
	const n = 100
	for i := range n {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	conn := countDeletes(t, url)
	if _, err := conn.Exec(ctx, `CREATE SEQUENCE public.started;
		CREATE FUNCTION public.slow_first() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('public.started') = 1 THEN
				PERFORM pg_sleep(0.5);
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER slow_first BEFORE DELETE ON tlsmail.outbox FOR EACH STATEMENT EXECUTE FUNCTION public.slow_first();`); err != nil {
		t.Fatal(err)
	}
	items, err := q.Claim(ctx, n, true, nil, time.Now().Add(time.Hour))
	if err != nil || len(items) != n {
		t.Fatalf("claim = %d items, %v", len(items), err)
	}
	// until polls the database (the sequence is not transactional: the
	// first statement's nextval is seen while it runs) for up to 30 s.
	until := func(what, query string, want func(int64) bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var v int64
			if err := conn.QueryRow(ctx, query).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if want(v) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited 30 s for %s", what)
			}
		}
	}
	rec := pgqueue.NewRecorder(q, time.Minute)
	b := rec.Begin()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, it := range items[:50] {
			rec.Add(b, it)
		}
		until("the first deletion to start", `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.started`, func(v int64) bool { return v >= 1 })
		for _, it := range items[50:60] {
			rec.Add(b, it)
		}
		until("the first deletion to commit", `SELECT count(*) FROM tlsmail.outbox`, func(v int64) bool { return v <= n-50 })
		for _, it := range items[60:] {
			rec.Add(b, it)
		}
		rec.End(b)
		rec.Close()
	}()
	groups := deletedGroups(t, conn, done, 60*time.Second)
	if len(groups) != 2 || groups[0] != 50 || groups[1] != 50 {
		t.Errorf("DELETE statements removed %v rows; want [50 50] (the 10 delivered during the first deletion gather with the next 40)", groups)
	}
	if left, err := q.Count(); err != nil || left != 0 {
		t.Errorf("%d items left (%v)", left, err)
	}
}

// countDeletes connects to url's database and adds a statement-level
// trigger that records in public.deletes how many rows each DELETE on
// tlsmail.outbox removed; deletedGroups reads them.
func countDeletes(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn := dial(t, url)
	if _, err := conn.Exec(context.Background(), `CREATE TABLE public.deletes (n bigint);
		CREATE FUNCTION public.count_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO public.deletes SELECT count(*) FROM old; RETURN NULL; END $$;
		CREATE TRIGGER count_deletes AFTER DELETE ON tlsmail.outbox REFERENCING OLD TABLE AS old
			FOR EACH STATEMENT EXECUTE FUNCTION public.count_deletes();`); err != nil {
		t.Fatal(err)
	}
	return conn
}

// deletedGroups waits (up to timeout) for the recorder's goroutine to
// close done and returns the row counts of the DELETE statements that
// removed rows, in order (countDeletes).
func deletedGroups(t *testing.T, conn *pgx.Conn, done <-chan struct{}, timeout time.Duration) []int64 {
	t.Helper()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatal("the recorder did not finish")
	}
	rows, err := conn.Query(context.Background(), `SELECT n FROM public.deletes WHERE n > 0`)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return groups
}
