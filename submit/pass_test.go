package submit

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

// TestWorkerRequeuesDeferredRecipients: a library user's Worker treats a
// recipient the server defers (450) while the others take the message as
// `tlsmail queue run` does: the item is delivered, and that recipient is
// queued again as an item of its own, retried with the backoff. Before,
// the Worker's pass had no Requeue: the item went to failed/ with the
// recipient refused, unlike the command line's run.
func TestWorkerRequeuesDeferredRecipients(t *testing.T) {
	t.Parallel()
	const later = "later@example.net"
	_, a := startServerWith(t, server.Config{
		RejectRecipient: func(to string) *server.Reply {
			if to == later {
				return &server.Reply{Code: 450, Enhanced: [3]int{4, 2, 1}, Text: "mailbox busy, try later"}
			}
			return nil
		}})
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"now@example.net", later}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan outbox.Result, 4)
	w := &Worker{Queue: q, Interval: time.Hour, OnResult: func(it *outbox.Item, r outbox.Result, _ *Sent) {
		if it.ID == id {
			results <- r
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case r := <-results:
		if r.Outcome != outbox.Delivered {
			t.Errorf("the item's outcome: %v (%v), want delivered (the deferred recipient queued again)", r.Outcome, r.Err)
		}
	case <-time.After(time.Minute): // an upper bound against a hang
		t.Fatal("no result")
	}
	cancel()
	<-done
	items, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || len(items[0].Envelope.To) != 1 || items[0].Envelope.To[0] != later {
		var got [][]string
		for _, it := range items {
			got = append(got, it.Envelope.To)
		}
		t.Errorf("queued after the pass: %v, want one item for %s", got, later)
	}
}

// TestWorkerOnResultSent: a Worker's OnResult (PassConfig.OnResult) is
// told each item's outcome with what its delivery learnt: the server's 250
// and the size sent for an item delivered, nothing (nil) for an item whose
// server could not be reached. msmtp's log line (LogEntry) is made from
// them.
func TestWorkerOnResultSent(t *testing.T) {
	t.Parallel()
	_, up := startTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now: connection refused
	deadPort, _ := strconv.Atoi(p)
	down := &Account{Host: "127.0.0.1", Port: deadPort, Mode: smtp.StartTLS, Timeout: 10 * time.Second}
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for name, a := range map[string]*Account{"up": up, "down": down} {
		id, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = name
	}
	type done struct {
		name string
		res  outbox.Result
		s    *Sent
	}
	dones := make(chan done, 4)
	w := &Worker{Queue: q, Interval: time.Hour, OnResult: func(it *outbox.Item, r outbox.Result, s *Sent) {
		dones <- done{ids[it.ID], r, s}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() { cancel(); <-ran }() // the Worker is done with the outbox before its directory goes
	for range 2 {
		select {
		case d := <-dones:
			switch d.name {
			case "up":
				if d.res.Outcome != outbox.Delivered || d.s == nil || d.s.Result == nil || d.s.Result.Response == nil ||
					d.s.Result.Response.Code != 250 || d.s.Result.Bytes == 0 {
					t.Errorf("delivered item: %v, %+v", d.res.Outcome, d.s)
				}
			case "down":
				if d.res.Outcome != outbox.Temporary || d.s != nil {
					t.Errorf("unreachable server's item: %v (%v), %+v", d.res.Outcome, d.res.Err, d.s)
				}
			default:
				t.Errorf("OnResult told of an unknown item")
			}
		case <-time.After(time.Minute): // an upper bound against a hang
			t.Fatal("OnResult was not told of both items")
		}
	}
}
