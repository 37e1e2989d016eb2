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

// countingStore is a real outbox that counts the items a listing reads.
type countingStore struct {
	*outbox.Queue
	read int
}

func (s *countingStore) List() ([]*outbox.Item, error) {
	items, err := s.Queue.List()
	s.read += len(items)
	return items, err
}

func (s *countingStore) Walk(fn func(*outbox.Item) error) error {
	return s.Queue.Walk(func(it *outbox.Item) error { s.read++; return fn(it) })
}

// TestBacklogScanBounded: the backlog a successful sendmail delivers is
// found without reading the whole outbox: once it has its 20 items of the
// account, or once its time is up, it stops reading. Before, it listed
// every item first (a 100,000-item outbox read in full, outside the 10 s
// budget, on every successful send).
func TestBacklogScanBounded(t *testing.T) {
	t.Parallel()
	const backlogItems = 20
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mine := []byte(`{"host":"mine"}`)
	enq := func(n int, settings []byte) {
		for range n {
			if _, err := q.EnqueueData(context.Background(), outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
				outbox.Data{Settings: settings}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
				t.Fatal(err)
			}
		}
	}
	enq(backlogItems+5, mine)
	enq(300, []byte(`{"host":"other"}`))
	var delivered []string
	deliver := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			delivered = append(delivered, it.ID)
			report(it, outbox.Result{Outcome: outbox.Delivered})
		}
		return nil
	}
	s := &countingStore{Queue: q}
	now := &Now{ID: "none", Result: outbox.Result{Outcome: outbox.Delivered}, data: mine, created: time.Now()}
	b := Backlog{Items: backlogItems, Time: 10 * time.Second}
	st := deliverBacklog(context.Background(), s, deliver, now, b, nil)
	if st.Delivered != backlogItems || len(delivered) != backlogItems {
		t.Errorf("delivered %d (%+v), want %d", len(delivered), st, backlogItems)
	}
	if s.read > backlogItems+5 {
		t.Errorf("read %d items to find %d", s.read, backlogItems)
	}
	// Out of time before it starts: nothing read, nothing delivered.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.read, delivered = 0, nil
	deliverBacklog(ctx, s, deliver, now, b, nil)
	if s.read > 1 || len(delivered) != 0 {
		t.Errorf("a cancelled backlog read %d items and delivered %d", s.read, len(delivered))
	}
}
