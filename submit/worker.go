package submit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
)

// Enqueue writes a message for a's server into q (durably: on disk,
// fsynced, or committed, before any connection), with a's canonical JSON
// as the item's settings, which are also its grouping key (items of equal
// Accounts share a connection). The Account is checked first; it holds no secret, only
// where to read it. It is stored as Account.Stored makes it: its relative
// file names made absolute, as any runner in any directory may deliver the
// item, and a configuration account's password a reference to the account.
//
// What the message needs of MAIL FROM is recorded with it (env.Body,
// env.SMTPUTF8 for non-ASCII addresses, env.HeaderUTF8 for UTF-8 header
// text only): as given when env.Body is set (a composed message knows,
// see message.Message.Requirements; "7BIT" or "8BITMIME" in any case,
// another value is an *Error of Field "body"), else found by reading the
// content before it is written, up to 1 MiB held in memory; a larger
// content of unknown needs is scanned again at delivery. A DSN request
// (env.DSNNotify, env.DSNReturn) that RFC 3461 does not allow is an *Error
// of Field "dsn".
func Enqueue(ctx context.Context, q outbox.Store, a *Account, env outbox.Envelope, msg io.Reader) (string, error) {
	if err := a.Check(); err != nil {
		return "", err
	}
	// The item may be delivered by a runner started in another directory:
	// its file names are stored absolute, resolved here.
	acct := a.Stored()
	data, err := json.Marshal(&acct)
	if err != nil {
		return "", err
	}
	switch b := strings.ToUpper(env.Body); b {
	case "", "7BIT", "8BITMIME":
		env.Body = b
	default:
		return "", &Error{Field: "body", Msg: fmt.Sprintf("unknown BODY value %q", env.Body),
			Fix: `give "7BIT" or "8BITMIME" (RFC 6152), or "" to have the content scanned`}
	}
	// A DSN request (RFC 3461) is recorded in upper case, and one RFC
	// 3461 does not allow is refused now rather than at every delivery.
	env.DSNNotify, env.DSNReturn = strings.ToUpper(env.DSNNotify), strings.ToUpper(env.DSNReturn)
	if err := (smtp.DSN{Notify: env.DSNNotify, Return: env.DSNReturn}).Check(); err != nil {
		return "", &Error{Field: "dsn", Msg: err.Error(), Err: err,
			Fix: "ask for NEVER or some of SUCCESS, FAILURE, DELAY (NOTIFY), and FULL or HDRS (RET), or for nothing"}
	}
	for _, addr := range append([]string{env.From}, env.To...) {
		if !isASCII(addr) {
			env.SMTPUTF8 = true
		}
	}
	if env.Body == "" {
		// The buffer grows with the message, up to scanAhead+1 bytes.
		var head bytes.Buffer
		if _, err := head.ReadFrom(io.LimitReader(msg, scanAhead+1)); err != nil {
			return "", &outbox.Error{Op: "enqueue", Msg: "cannot read the message", Err: err}
		}
		if head.Len() <= scanAhead { // the whole message
			header8, body8 := scanBytes(head.Bytes())
			env.HeaderUTF8 = header8 && !env.SMTPUTF8
			env.Body = "7BIT"
			if body8 {
				env.Body = "8BITMIME"
			}
		}
		msg = io.MultiReader(&head, msg)
	}
	return q.EnqueueData(ctx, env, outbox.Data{Settings: data}, msg)
}

// scanAhead is the most content Enqueue holds in memory to learn its needs.
const scanAhead = 1 << 20

// Worker delivers an outbox's messages for as long as its context lasts:
// the long-running delivery loop of a program that queues mail (from a web
// handler, say) and of `tlsmail queue run --watch`. A pass delivers every
// item that is due; the Worker then sleeps until the next item is due, at
// most Interval, or until Enqueue (or Wake) in the same process tells it
// there is something new. Any number of processes may run Workers on one
// outbox: an item is delivered by one at a time.
type Worker struct {
	// Queue is the outbox to deliver: the spool directory (*outbox.Queue)
	// or another outbox.Store. A Store that is an outbox.Notifier (the
	// PostgreSQL queue) wakes the Worker at once when any process queues
	// an item.
	Queue outbox.Store
	// Connector resolves the items' Accounts; nil means a zero
	// Connector (crypto/tls, the process environment). The items of a
	// shared Queue (PostgreSQL) are checked as ItemPolicy says (RunPass);
	// Connector.Policy.Secrets opts in to more secret sources.
	Connector *Connector
	// Interval is the longest sleep between passes (new items queued by
	// another process are found then); 0 means 30 seconds. It is kept
	// between MinInterval and an hour.
	Interval time.Duration
	// Parallel is the most connections at once (outbox.RunConfig.Parallel);
	// 0 means 4.
	Parallel int
	// Transcript, if set, receives the session logs.
	Transcript io.Writer
	// OnResult, if set, is told each item's outcome with what its
	// delivery learnt (PassConfig.OnResult); it is called from several
	// goroutines at once.
	OnResult func(it *outbox.Item, res outbox.Result, s *Sent)
	// Log and OnLogError write msmtp's log line for each item that leaves
	// the outbox to its Account's log (PassConfig.Log).
	Log        bool
	OnLogError func(error)
	// OnError, if set, is told a pass that failed (an unreadable spool);
	// the Worker goes on with the next pass, unless the outbox refused to
	// remove what it delivered (Run returns that error).
	OnError func(error)
	// Pass, if set, replaces the Worker's own pass (the command line's
	// prints each result): it must deliver what is due and return the
	// outbox's Stats.
	Pass func(ctx context.Context) (outbox.Stats, error)

	once sync.Once
	wake chan struct{}
}

// MinInterval is the shortest sleep between two passes.
const MinInterval = time.Second

func (w *Worker) wakeChan() chan struct{} {
	w.once.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Wake makes a running Worker start a pass now (or as soon as the current
// one ends). It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wakeChan() <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// Enqueue queues a message with Enqueue and wakes the Worker.
func (w *Worker) Enqueue(ctx context.Context, a *Account, env outbox.Envelope, msg io.Reader) (string, error) {
	id, err := Enqueue(ctx, w.Queue, a, env, msg)
	if id != "" {
		w.Wake()
	}
	return id, err
}

// Run delivers until ctx is done, then returns nil once the current pass
// has stopped (a message being sent is left queued, unreported, and sent
// again by a later run).
//
// A pass whose outbox refused to remove the messages it delivered
// (errors.Is outbox.ErrRemoveRefused: a database role without the DELETE
// right, a trigger) ends the Worker: Run returns that pass's error. Those
// messages stay queued and are sent again when their lease ends, and each
// further pass would send more and leave them queued too, duplicates
// without end; only the store's owner can clear the cause (grant the
// right, drop the trigger), so the Worker stops delivering rather than
// repeat it, and is started again once that is done. So does a pass on
// an outbox closed under the Worker (errors.Is outbox.ErrClosed: a misuse,
// which no later pass heals). Other failed passes
// (the database unreachable, an unreadable spool) go to OnError and the
// Worker goes on.
func (w *Worker) Run(ctx context.Context) error {
	if w.Queue == nil && w.Pass == nil {
		return &Error{Field: "queue", Msg: "the Worker has no outbox to deliver", Fix: "set Worker.Queue to an outbox.Open result"}
	}
	interval := w.Interval
	if interval == 0 {
		interval = 30 * time.Second
	}
	interval = min(max(interval, MinInterval), time.Hour)
	wake := w.wakeChan()
	if n, ok := w.Queue.(outbox.Notifier); ok {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go w.listen(lctx, n)
	}
	for {
		// A wake-up that came before this pass is served by it.
		select {
		case <-wake:
		default:
		}
		stats, err := w.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && (errors.Is(err, outbox.ErrRemoveRefused) || errors.Is(err, outbox.ErrClosed)) {
			return err // no later pass does better
		}
		if err != nil && w.OnError != nil {
			w.OnError(err)
		}
		wait := interval
		if !stats.Next.IsZero() {
			wait = min(wait, max(time.Until(stats.Next), MinInterval))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// listen relays the Store's notifications to Wake, listening again (after
// MinInterval) when the channel fails, until ctx is done. Meanwhile the
// Worker's Interval still finds new items.
func (w *Worker) listen(ctx context.Context, n outbox.Notifier) {
	for ctx.Err() == nil {
		err := n.Listen(ctx, w.Wake)
		if ctx.Err() != nil || errors.Is(err, outbox.ErrClosed) {
			return // closed: Run's pass stops on it
		}
		if err != nil && w.OnError != nil {
			w.OnError(err)
		}
		// Items queued while not listening are found by this pass.
		w.Wake()
		t := time.NewTimer(MinInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// pass is one delivery of everything due (RunPass), with a fresh
// Deliverer: the session caches and the memory of servers that timed out
// last one pass.
func (w *Worker) pass(ctx context.Context) (outbox.Stats, error) {
	if w.Pass != nil {
		return w.Pass(ctx)
	}
	return RunPass(ctx, w.Queue, PassConfig{Connector: w.Connector, Parallel: w.Parallel,
		Transcript: w.Transcript, OnResult: w.OnResult, Log: w.Log, OnLogError: w.OnLogError})
}
