package pgqueue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresLeaseRenewedWhileDelivering: docs/deployment.md, "Leases":
// the lease "is renewed every third of itself while the batch is being
// delivered, so it only needs to exceed the worst pause of a live worker
// ... not the time to deliver a batch". A run with the shortest lease
// (MinLease, 1 s) whose delivery takes three leases keeps its item: a
// second runner polling all the while never claims it, and the first
// runner's delivery is recorded.
func TestPostgresLeaseRenewedWhileDelivering(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	a := openPG(t, url, pgqueue.Options{Lease: pgqueue.MinLease})
	if _, err := a.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(1))); err != nil {
		t.Fatal(err)
	}
	b := openPG(t, url, pgqueue.Options{Lease: time.Hour})
	slow := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		end := time.Now().Add(3 * pgqueue.MinLease)
		for time.Now().Before(end) {
			got, err := b.Claim(ctx, 100, false, nil, time.Now())
			if err != nil || len(got) != 0 {
				t.Errorf("while the first runner delivers, another claimed %d items (%v): the lease was not renewed", len(got), err)
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, it := range batch {
			report(it, outbox.Result{Outcome: outbox.Delivered})
		}
		return nil
	}
	st, err := a.Run(ctx, outbox.RunConfig{Deliver: slow})
	if err != nil || st.Delivered != 1 {
		t.Fatalf("Run = %+v, %v; want the item delivered by the runner that held it", st, err)
	}
	if n, err := a.Count(); err != nil || n != 0 {
		t.Fatalf("%d items left (%v), want none", n, err)
	}
}
