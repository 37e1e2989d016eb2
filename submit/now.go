package submit

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
)

// Now is what DeliverNow did with one item.
type Now struct {
	// ID is the item.
	ID string
	// Result is its outcome; Outcome 0 when it was not attempted: another
	// runner holds it, or ctx ended first (the item stays queued).
	Result outbox.Result
	// Next is when a deferred item is tried again.
	Next time.Time
	// Sent is what its delivery learnt; nil when no session reached the
	// point of sending it (the server could not be reached, say).
	Sent *Sent

	// The item's settings and creation time: DeliverBacklog finds the
	// items queued before it with the same Account.
	data    []byte
	created time.Time
}

// DeliverNow delivers the item id of q at once with d (its next attempt
// time is not waited for) and reports what happened: the "queue it, then
// try it now" of a web handler or of sendmail, which keeps the message
// durable whatever the attempt does. Set d.Requeue to q for the
// recipients a server defers while others take the message. The error is
// the outbox's (an unsafe or unreadable spool): the item was not tried.
func (d *Deliverer) DeliverNow(ctx context.Context, q outbox.Store, id string) (*Now, error) {
	now := &Now{ID: id}
	var mu sync.Mutex
	sent := func(it *outbox.Item, s *Sent) {
		if it.ID == id {
			mu.Lock()
			now.Sent = s
			mu.Unlock()
		}
		if d.Sent != nil {
			d.Sent(it, s)
		}
	}
	_, err := q.Run(ctx, outbox.RunConfig{
		Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
			return d.deliver(ctx, batch, report, sent)
		},
		IDs: []string{id},
		OnResult: func(it *outbox.Item, r outbox.Result) {
			if it.ID == id {
				mu.Lock()
				now.Result, now.Next = r, it.NextAttempt
				now.data, now.created = it.Data(), it.Created
				mu.Unlock()
			}
		},
	})
	return now, err
}

// Backlog bounds what DeliverBacklog does.
type Backlog struct {
	// Items is the most items delivered.
	Items int
	// Time bounds finding them and delivering them.
	Time time.Duration
	// OnResult, if set, is told each item's outcome as
	// PassConfig.OnResult is, with what its delivery learnt.
	OnResult func(it *outbox.Item, res outbox.Result, s *Sent)
}

// DeliverBacklog delivers, after DeliverNow delivered an item, the items
// of q that were queued with the same Account before it, whether due or
// not (as msmtpq does): the delivery just made shows the account works
// now. At most b.Items of them, oldest first, within b.Time; the outbox
// is read item by item and no further than needed. Items queued after
// the one delivered are left to their own runs (a recipient just queued
// again waits for its backoff; another process's message is being sent
// by it). It returns what the run did; an outbox that cannot be read is
// no delivery (zero Stats).
func (d *Deliverer) DeliverBacklog(ctx context.Context, q outbox.Store, now *Now, b Backlog) outbox.Stats {
	book := &sentBook{}
	deliver := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		return d.deliver(ctx, batch, report, book.hook(d.Sent))
	}
	return deliverBacklog(ctx, q, deliver, now, b, book)
}

// deliverBacklog is DeliverBacklog with deliver; book (nil: none) holds
// what deliver learnt of each item, for b.OnResult.
func deliverBacklog(ctx context.Context, q outbox.Store, deliver outbox.Deliverer, now *Now, b Backlog, book *sentBook) outbox.Stats {
	if now == nil || len(now.data) == 0 || now.Result.Outcome != outbox.Delivered || b.Items <= 0 || b.Time <= 0 {
		return outbox.Stats{}
	}
	ctx, cancel := context.WithTimeout(ctx, b.Time)
	defer cancel()
	var found []*outbox.Item
	errEnough := errors.New("enough")
	visit := func(it *outbox.Item) error {
		if ctx.Err() != nil {
			return errEnough
		}
		if it.ID != now.ID && !it.Created.After(now.created) && bytes.Equal(it.Data(), now.data) {
			found = append(found, it)
			if len(found) == b.Items {
				return errEnough
			}
		}
		return nil
	}
	if err := q.Walk(visit); err != nil && !errors.Is(err, errEnough) {
		return outbox.Stats{}
	}
	if len(found) == 0 || ctx.Err() != nil {
		return outbox.Stats{}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Created.Before(found[j].Created) })
	ids := make([]string, len(found))
	for i, it := range found {
		ids[i] = it.ID
	}
	rc := outbox.RunConfig{Deliver: deliver, IDs: ids, Force: true}
	if b.OnResult != nil {
		rc.OnResult = func(it *outbox.Item, res outbox.Result) { b.OnResult(it, res, book.take(it.ID)) }
	}
	st, _ := q.Run(ctx, rc)
	return st
}

// sentBook keeps what the delivery of each attempted item learnt (the
// Deliverer's Sent) until the outbox reports the item's outcome.
type sentBook struct {
	mu   sync.Mutex
	sent map[string]*Sent
}

// hook records each Sent, then tells next (nil: nothing).
func (b *sentBook) hook(next func(*outbox.Item, *Sent)) func(*outbox.Item, *Sent) {
	return func(it *outbox.Item, s *Sent) {
		b.mu.Lock()
		if b.sent == nil {
			b.sent = map[string]*Sent{}
		}
		b.sent[it.ID] = s
		b.mu.Unlock()
		if next != nil {
			next(it, s)
		}
	}
}

// take returns and forgets what was recorded for item id (nil: nothing,
// or no book).
func (b *sentBook) take(id string) *Sent {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sent[id]
	delete(b.sent, id)
	return s
}
