package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresDeletionRefusedStopsRun: the deletion of delivered items
// fails for good (here a trigger; in a deployment a worker role without
// DELETE, say): the run sends at most MaxUnrecorded + 1 messages, the
// bound docs/queue-postgres.md states for what is sent twice, and
// returns an error naming the items (queue run: exit 75), which are
// still queued. Before, the failure was only logged: every queued
// message was delivered (and counted, the run said nothing was wrong)
// while staying queued, to be sent again after each lease, for ever.
func TestPostgresDeletionRefusedStopsRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	const max, n = 2, 20
	q := openPG(t, url, pgqueue.Options{MaxUnrecorded: max})
	for i := range n {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dial(t, url).Exec(ctx, `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$;
		CREATE TRIGGER refuse BEFORE DELETE ON tlsmail.outbox FOR EACH ROW EXECUTE FUNCTION public.refuse()`); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	st, err := q.Run(ctx, outbox.RunConfig{
		BatchSize: 5, // several batches: none is claimed once a deletion failed
		Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			for _, it := range batch {
				r, err := it.Open()
				if err != nil {
					report(it, outbox.Result{Outcome: outbox.Temporary, Err: fmt.Errorf("open: %w", err)})
					continue
				}
				io.Copy(io.Discard, r)
				r.Close()
				sent.Add(1)
				report(it, outbox.Result{Outcome: outbox.Delivered})
			}
			return nil
		},
	})
	if got := sent.Load(); got > max+1 {
		t.Errorf("%d messages sent while their deletion was refused; want at most MaxUnrecorded + 1 = %d", got, max+1)
	}
	var oe *outbox.Error
	if !errors.As(err, &oe) || oe.ID == "" || !strings.Contains(oe.Msg, "cannot record the delivery") ||
		!strings.Contains(oe.Msg, "sent again") || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("Run = %+v, %v; want an error naming the delivered items still queued", st, err)
	}
	// The refusal is for good (a trigger, not a lost connection): a
	// Worker stops on it.
	if !errors.Is(err, outbox.ErrRemoveRefused) {
		t.Errorf("Run = %v; want errors.Is outbox.ErrRemoveRefused", err)
	}
	if queued, _ := q.Count(); queued != n {
		t.Fatalf("%d queued, want all %d", queued, n)
	}
}
