package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresResultCountedWhenRecorded: Run counts an item as failed
// (or expired, or deferred) only once the statement that records it is
// committed. A trigger makes that statement fail (the database refusing
// or losing it at that moment): Run then counts nothing, returns an error
// saying the item stays queued, and the item is still in the queue, not
// in the failed table. Before, Run counted Failed: 1 (Expired, Deferred)
// and returned no error: `queue run` printed "1 failed ... moved to the
// failed items" for an item that was not. Rows without the trigger show
// the counts and the item's failure time when the move commits.
func TestPostgresResultCountedWhenRecorded(t *testing.T) {
	refuse := `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$;`
	tests := []struct {
		name    string
		outcome outbox.Outcome
		maxAge  time.Duration
		trigger string // "" for none
		want    outbox.Stats
		what    string // what the error says could not be done (a trigger)
	}{
		{name: "permanent, moved", outcome: outbox.Permanent,
			want: outbox.Stats{Failed: 1}},
		{name: "permanent, move refused", outcome: outbox.Permanent, what: "move it to the failed items",
			trigger: `CREATE TRIGGER refuse BEFORE INSERT ON tlsmail.failed FOR EACH ROW EXECUTE FUNCTION public.refuse()`},
		{name: "expired, moved", outcome: outbox.Temporary, maxAge: time.Nanosecond,
			want: outbox.Stats{Failed: 1, Expired: 1}},
		{name: "expired, move refused", outcome: outbox.Temporary, maxAge: time.Nanosecond, what: "move it to the failed items",
			trigger: `CREATE TRIGGER refuse BEFORE INSERT ON tlsmail.failed FOR EACH ROW EXECUTE FUNCTION public.refuse()`},
		{name: "deferred", outcome: outbox.Temporary,
			want: outbox.Stats{Deferred: 1}},
		{name: "deferral refused", outcome: outbox.Temporary, what: "record the deferral",
			trigger: `CREATE TRIGGER refuse BEFORE UPDATE ON tlsmail.outbox FOR EACH ROW
				WHEN (NEW.attempts > OLD.attempts) EXECUTE FUNCTION public.refuse()`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := newDB(t)
			q := openPG(t, url, pgqueue.Options{MaxAge: tt.maxAge})
			id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(1)))
			if err != nil {
				t.Fatal(err)
			}
			if tt.trigger != "" {
				if _, err := dial(t, url).Exec(ctx, refuse+tt.trigger); err != nil {
					t.Fatal(err)
				}
			}
			var told *outbox.Item
			st, err := q.Run(ctx, outbox.RunConfig{
				Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
					for _, it := range batch {
						report(it, outbox.Result{Outcome: tt.outcome, Err: errors.New("550 refused by the test's server")})
					}
					return nil
				},
				OnResult: func(it *outbox.Item, _ outbox.Result) { told = it },
			})
			got := outbox.Stats{Failed: st.Failed, Expired: st.Expired, Deferred: st.Deferred}
			if got != tt.want {
				t.Errorf("Run counted %+v, want %+v (err %v)", got, tt.want, err)
			}
			queued, _ := q.Count()
			failed, _ := q.CountFailed()
			if tt.trigger == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if tt.want.Failed > 0 && (failed != 1 || told == nil || told.FailedAt.IsZero()) {
					t.Fatalf("%d failed, item told %v; want it moved, with its failure time", failed, told != nil && !told.FailedAt.IsZero())
				}
				return
			}
			var oe *outbox.Error
			if !errors.As(err, &oe) || oe.ID != id || !strings.Contains(oe.Msg, "cannot "+tt.what) ||
				!strings.Contains(oe.Fix, "tried again when its lease ends") || !strings.Contains(err.Error(), "refused by the test") {
				t.Fatalf("Run's error = %v; want one naming the item, what could not be recorded and that it is tried again", err)
			}
			if strings.Count(err.Error(), "see the PostgreSQL server's log") != 1 {
				t.Errorf("the database's fix is not said once: %v", err)
			}
			if queued != 1 || failed != 0 {
				t.Fatalf("%d queued, %d failed; want the item still queued", queued, failed)
			}
			if told != nil && !told.FailedAt.IsZero() {
				t.Errorf("the item was reported failed at %v although it is still queued", told.FailedAt)
			}
		})
	}
}
