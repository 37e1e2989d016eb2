package submit

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
)

// TestRequeueWhenCancelled: a recipient refused with 452 while the other
// took the message, whose further transaction is cut by the run's
// cancellation (a queue run stopped, sendmail's bounded backlog running out
// of time). The other recipient has the message, so the item is settled;
// the leftover must be queued again on its own. Before the fix the enqueue
// used the cancelled context, failed, and the item went to failed/ as
// refused for good, listing both recipients (a retry from there sends the
// first one the message twice).
func TestRequeueWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mails atomic.Int32
	_, a := startServerWith(t, server.Config{MaxRecipients: 1,
		RejectMail: func(string) *server.Reply {
			if mails.Add(1) == 2 {
				cancel() // the run stops during the further transaction
				time.Sleep(2 * time.Second)
			}
			return nil
		}})
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := outbox.Envelope{From: "a@example.org", To: []string{"one@example.net", "two@example.net"}}
	if _, err := Enqueue(context.Background(), q, a, env, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	d := &Deliverer{Requeue: q}
	if _, err := q.Run(ctx, outbox.RunConfig{Deliver: d.Deliver}); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	failed, err := q.ListFailed()
	if err != nil {
		t.Fatal(err)
	}
	queued, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 0 || len(queued) != 1 || !slices.Equal(queued[0].Envelope.To, []string{"two@example.net"}) {
		var f []string
		for _, it := range failed {
			f = append(f, it.Reason)
		}
		t.Fatalf("want one item queued for two@example.net only; queued %d, failed %d %q", len(queued), len(failed), f)
	}
}
