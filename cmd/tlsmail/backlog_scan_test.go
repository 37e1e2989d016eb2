package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
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
	q, err := outbox.Open(filepath.Join(t.TempDir(), "q"), outbox.Options{})
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
	st := deliverBacklog(context.Background(), s, deliver, "none", mine, time.Now())
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
	deliverBacklog(ctx, s, deliver, "none", mine, time.Now())
	if s.read > 1 || len(delivered) != 0 {
		t.Errorf("a cancelled backlog read %d items and delivered %d", s.read, len(delivered))
	}
}

// TestBacklogLeavesNewerItems: the recipient a server deferred (450) is
// queued again as an item of its own; the backlog that follows the
// delivery must not retry it at once, ignoring its backoff (nor take any
// item queued after this message, which its own sendmail is delivering):
// the backlog is what earlier runs left. (Two RCPTs for it are this
// run's: the first transaction and one further transaction.)
func TestBacklogLeavesNewerItems(t *testing.T) {
	t.Parallel()
	const later = "later@example.org"
	var attempts atomic.Int32
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == later {
				attempts.Add(1)
				return &server.Reply{Code: 450, Enhanced: [3]int{4, 2, 1}, Text: "mailbox busy, try later"}
			}
			return nil
		}
	}, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "ok@example.org", later}, env: m.env(),
		stdin: strings.NewReader("Subject: deferred recipient\n\nx\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("want exit 0: %s", r)
	}
	q := m.list(t)
	if len(q.Queued) != 1 || q.Queued[0].Attempts != 0 || attempts.Load() > 2 {
		t.Errorf("the deferred recipient was tried %d times by one sendmail; queued: %+v", attempts.Load(), q.Queued)
	}
}

// TestNeedsFixing: which deferred failures are said not to heal by
// themselves. A revocation status that could not be learnt (the CRL or
// OCSP server out of reach) heals when it comes back: before, it was
// reported as an untrusted certificate to fix.
func TestNeedsFixing(t *testing.T) {
	t.Parallel()
	problem := func(k trust.Kind) error {
		return &smtp.Error{Kind: smtp.KindCertificate, Op: "STARTTLS",
			Err: &trust.Error{Report: trust.Report{Problems: []trust.Problem{{Kind: k, Severity: trust.SeverityError, Summary: string(k)}}}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"revocation unknown", problem(trust.KindRevocationUnknown), false},
		{"revoked", problem(trust.KindRevoked), true},
		{"login refused", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 535}}, true},
		{"login deferred", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 454}}, false},
		{"network", &smtp.Error{Kind: smtp.KindNetwork, Op: "connect"}, false},
	}
	for _, tc := range tests {
		if _, got := needsFixing(tc.err); got != tc.want {
			t.Errorf("%s: needs fixing %v, want %v", tc.name, got, tc.want)
		}
	}
}
