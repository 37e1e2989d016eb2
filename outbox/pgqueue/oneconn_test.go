package pgqueue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresRunOneConnection: a Run's claims and deletion groups take
// turns on one database connection (docs/queue-postgres.md, "Where the CPU
// goes": each connection costs the server a backend). The deletions are
// made slow (a trigger sleeps 100 ms per DELETE statement) so that the
// other deliverers claim while one group is being deleted: before, such a
// claim opened a second connection.
func TestPostgresRunOneConnection(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `CREATE FUNCTION public.slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			PERFORM pg_sleep(0.1);
			RETURN NULL;
		END $$;
		CREATE TRIGGER slow_delete BEFORE DELETE ON tlsmail.outbox FOR EACH STATEMENT EXECUTE FUNCTION public.slow_delete();`); err != nil {
		t.Fatal(err)
	}
	q := openPG(t, url, pgqueue.Options{})
	const n = 24
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
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliver, BatchSize: 3, Parallel: 4})
	if err != nil || st.Delivered != n {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	if left, err := q.Count(); err != nil || left != 0 {
		t.Errorf("%d items left (%v)", left, err)
	}
	if c := pgqueue.ConnsOpened(q); c != 1 {
		t.Errorf("the Queue opened %d database connections for one Run; want 1 (claims and deletions share one)", c)
	}
}
