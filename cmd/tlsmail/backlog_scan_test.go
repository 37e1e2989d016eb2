package main

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

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
