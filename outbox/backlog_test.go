package outbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// A run holds a bounded number of items whatever the backlog: with the
// directory read in chunks, items of many different servers (no batch
// ever fills) are handed out once the batches being filled hold the
// window, not kept until the whole spool is read.
func TestRunHoldsAWindow(t *testing.T) {
	q, _, _ := newQueue(t)
	const n, window, chunk, batch = 200, 10, 16, 50
	q.lim.scanChunk, q.lim.window = chunk, window
	for i := range n {
		s := testSettings
		s.Host = fmt.Sprintf("mx%d.example", i) // one group per item
		enqueue(t, q, s, "Subject: x\r\n\r\nbody\r\n")
	}
	var mu sync.Mutex
	opened, reported, most := 0, 0, 0
	q.lim.hook = func(stage string) {
		if stage == "opened" {
			mu.Lock()
			opened++
			most = max(most, opened-reported)
			mu.Unlock()
		}
	}
	st, err := q.Run(context.Background(), RunConfig{BatchSize: batch, Parallel: 1,
		Deliver: func(ctx context.Context, b []*Item, report func(*Item, Result)) error {
			for _, it := range b {
				report(it, Result{Outcome: Delivered})
				mu.Lock()
				reported++
				mu.Unlock()
			}
			return nil
		}})
	if err != nil || st.Delivered != n {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	// The window, plus the batch handed out and the one waiting for the
	// deliverer.
	if limit := window + 2; most > limit {
		t.Errorf("up to %d items held at once, want at most %d", most, limit)
	}
}
