package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresRunHalfOpen: a Run whose database connections go half-open
// while it delivers (the proxy between it and PostgreSQL stops
// forwarding without closing anything, as a vanished host or a NAT that
// dropped the flow) does not wait for ever: each operation is bounded
// (1 minute; 2 s here), the connection is closed, and the Run either goes
// on through a new connection or ends with ErrUnavailable. Either way no
// item is lost: each is delivered or still queued. Before, the deletion
// of the first delivered item (or the next claim) waited for an answer
// for ever.
func TestPostgresRunHalfOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	_, a := startServer(t)
	proxy, behind := behindProxy(t, url, pgqueue.Options{})
	direct := openPG(t, url, pgqueue.Options{})
	pgqueue.SetOpTimeout(behind, 2*time.Second)
	const n = 4
	for i := range n {
		if _, err := submit.Enqueue(ctx, direct, a, env, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	var mu sync.Mutex
	delivered := 0
	type result struct {
		st  outbox.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := behind.Run(ctx, outbox.RunConfig{Parallel: 1, BatchSize: 1, Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			// The connections open now (the claim's, and the pool's
			// others) go half-open after the first claim.
			once.Do(proxy.freeze)
			for _, it := range batch {
				mu.Lock()
				delivered++
				mu.Unlock()
				report(it, outbox.Result{Outcome: outbox.Delivered})
			}
			return nil
		}})
		done <- result{st, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("Run still waits on its half-open connections after 45 s")
	}
	if r.err != nil {
		if !errors.Is(r.err, pgqueue.ErrUnavailable) || !strings.Contains(r.err.Error(), "did not answer in time") {
			t.Errorf("Run = %v; want ErrUnavailable saying the database did not answer in time", r.err)
		}
	}
	t.Logf("Run: %+v, %v; %d delivered", r.st, r.err, delivered)
	// Nothing lost: what was not delivered is still queued (a delivered
	// item whose deletion was cut off is still queued too, and is sent
	// again: in flight).
	left, err := direct.Count()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered+left < n {
		t.Errorf("%d delivered and %d still queued of %d: some item is lost", delivered, left, n)
	}
}
