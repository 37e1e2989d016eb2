package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
)

// PassConfig configures RunPass.
type PassConfig struct {
	// Connector resolves the items' Accounts; nil means a zero Connector.
	Connector *Connector
	// Parallel is the most connections at once; 0 means 4.
	Parallel int
	// Force delivers every item now, whatever its next attempt time
	// (`tlsmail queue flush`).
	Force bool
	// Transcript, if set, receives the session logs.
	Transcript io.Writer
	// OnResult, if set, is told each item's outcome (outbox.RunConfig)
	// with what its delivery learnt (s: nil when no session reached the
	// point of sending it, a server that could not be reached say). It is
	// called from several goroutines at once.
	OnResult func(it *outbox.Item, res outbox.Result, s *Sent)
	// OnReport, if set, is told each item's outcome as a Report; it is
	// called from one goroutine at a time.
	OnReport func(Report)
	// Log, if set, writes msmtp's log line for each item that leaves the
	// outbox (delivered, or failed for good) to the log its Account names
	// (Connector.LogItem: a shared queue's item only where ItemLog allows).
	Log bool
	// OnLogError, if set, is told a log line that could not be written
	// or that an item may not ask for (with Log); the item's outcome
	// stands either way. It is called from several goroutines at once.
	OnLogError func(error)
}

// Report is one item's outcome in a pass, in the words (and the JSON) of
// `tlsmail queue run --json`.
type Report struct {
	ID string `json:"id"`
	// Outcome is "delivered", "deferred" (it stays queued until
	// NextAttempt), "failed" (moved to the failed items, Error the
	// reason) or "corrupt" (its copy was damaged and moved aside).
	Outcome    string   `json:"outcome"`
	Recipients []string `json:"recipients"`
	// Response is the server's reply to the end of the data, when the
	// item reached it.
	Response    string    `json:"response,omitempty"`
	Error       string    `json:"error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// RunPass delivers the items of q that are due (every item with Force)
// once, as Worker does in each pass and `tlsmail queue run` does: a
// Deliverer with the Connector's caches for the pass, batches of up to 250
// items over one connection each, and the recipients a server defers
// while others take the message queued again in q (Deliverer.Requeue).
// The items of a store others can write (outbox.Store.Shared: the
// PostgreSQL queue, or a type wrapping it) are delivered under a Shared
// ItemPolicy whatever pc.Connector's says: their secrets come from the runner's own
// configuration only, and pc.Connector.Policy.Secrets is the opt-in for
// other sources. A configuration file the items name (their account's, for
// the password, the shared store's checks and the log line) is read once
// in the pass, its eval lines run once, and read again by the next pass.
// It returns the outbox's Stats and error (outbox.Store.Run).
func RunPass(ctx context.Context, q outbox.Store, pc PassConfig) (outbox.Stats, error) {
	c := pc.Connector
	if c == nil {
		c = &Connector{}
	}
	// The items of a store others can write are untrusted input.
	c = c.forStore(q)
	// Each configuration file the items name is read once in the pass
	// (its eval lines run once), by the checks, the logins and the log
	// lines alike.
	cc := *c
	cc.reads = &configReads{}
	c = &cc
	parallel := pc.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	var mu sync.Mutex
	var logs logAccounts
	book := &sentBook{}
	d := &Deliverer{Connect: c.Plan, Transcript: pc.Transcript, Requeue: q}
	if pc.OnReport != nil || pc.OnResult != nil || pc.Log {
		d.Sent = book.hook(nil)
	}
	return q.Run(ctx, outbox.RunConfig{
		Deliver:  d.Deliver,
		Parallel: parallel,
		// One connection per batch: 1,000 messages for one server go
		// over four connections, each with one handshake.
		BatchSize: 250,
		Force:     pc.Force,
		OnResult: func(it *outbox.Item, res outbox.Result) {
			sent := book.take(it.ID)
			if pc.OnResult != nil {
				pc.OnResult(it, res, sent)
			}
			if pc.Log && Logged(it, res) {
				if err := c.logItem(ctx, logs.account(it.Data()), it, res, sent); err != nil && pc.OnLogError != nil {
					pc.OnLogError(err)
				}
			}
			if pc.OnReport == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			r := Report{ID: it.ID, Outcome: res.Outcome.String(), Recipients: it.Envelope.To}
			if sent != nil && sent.Result != nil && sent.Result.Response != nil {
				r.Response = sent.Result.Response.String()
			}
			if res.Err != nil {
				r.Error = res.Err.Error()
			}
			switch {
			case res.Outcome == outbox.Delivered:
			case res.Outcome == outbox.Corrupt:
				var ce *outbox.CorruptError
				if errors.As(res.Err, &ce) {
					r.Error = ce.Msg // the path is in the outbox's warning
				}
			case it.FailedAt.IsZero():
				r.Outcome, r.NextAttempt = "deferred", it.NextAttempt
			default:
				r.Outcome, r.Error = "failed", it.Reason
			}
			pc.OnReport(r)
		},
	})
}

// String is the report as one line of `tlsmail queue run`: the outcome,
// the item, its recipients and the server's reply or the error. The
// recipients come from the outbox and the reply from the server, so both
// are quoted (safetext.Quote) and white space runs, line breaks included,
// become one space.
func (r Report) String() string {
	to := safetext.OneLine(strings.Join(r.Recipients, ","))
	id := safetext.OneLine(r.ID) // a shared store's row writer chose it
	switch r.Outcome {
	case "delivered":
		return fmt.Sprintf("delivered %s to %s: %s", id, to, safetext.Quote(r.Response))
	case "deferred":
		return fmt.Sprintf("deferred  %s to %s: %s (next attempt %s)", id, to, safetext.OneLine(r.Error),
			r.NextAttempt.Local().Format(time.DateTime))
	case "corrupt":
		return fmt.Sprintf("corrupt   %s to %s: %s (not sent; moved to corrupt/)", id, to, safetext.OneLine(r.Error))
	}
	return fmt.Sprintf("failed    %s to %s: %s (moved to the failed items)", id, to, safetext.OneLine(r.Error))
}
