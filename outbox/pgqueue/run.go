package pgqueue

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tlsmail/tlsmail/outbox"
)

// MaxSettings bounds the settings of an item a claim reads (the JSON of a
// submit.Account: a few hundred bytes as tlsmail writes it); a row whose
// settings are larger is moved to the failed items unread.
const MaxSettings = 1 << 20

// maxSettingsSQL is MaxSettings in the statements: itemCols and
// failedItemCols read NULL for larger settings (the column itself is NOT
// NULL).
const maxSettingsSQL = "1048576"

// MaxEnvelope bounds an item's envelope (outbox.Envelope as JSON):
// EnqueueTx refuses a larger one (ErrEnvelopeTooLarge). It holds 1,000
// recipients of RFC 5321's longest path (256 octets, section 4.5.3.1.3),
// ten times the 100 a server must take in one transaction (section
// 4.5.3.1.8), with their JSON quotes and commas; about 8,000 addresses of
// 30 characters.
const MaxEnvelope = 256 << 10

// maxEnvelopeSQL bounds the envelope a statement reads, as the database
// prints it (jsonb's text has a space after each comma and colon that
// encoding/json leaves out, and no escapes for <, > and &): twice
// MaxEnvelope, so that every envelope EnqueueTx took is read. A row whose
// envelope is larger (written by hand, or by a hostile host: up to 1 GB)
// is read as its size instead (envelopeCol), so that a claim of 250 such
// rows does not hold gigabytes, and a claim moves it to the failed items.
const maxEnvelopeSQL = "524288"

// MaxRecipients bounds the recipients of an item's envelope: EnqueueTx
// refuses more (ErrEnvelopeTooLarge), and a claim does not read an
// envelope with more. MaxEnvelope alone let a row hold 127,000 empty
// strings in its 512 KiB (4 bytes each as jsonb prints them, 16 in Go): a
// claim of 100 such rows kept 225 MB and allocated 1.1 GB. 10,000 is
// more than the documented capacity (about 8,000 addresses of 30
// characters).
const MaxRecipients = 10000

// maxRecipientsSQL is MaxRecipients in the statements.
const maxRecipientsSQL = "10000"

// envelopeCol is the envelope column of table alias t bounded by
// maxEnvelopeSQL and maxRecipientsSQL: the envelope, NULL when there is
// none, its size in bytes (a JSON number, which no envelope is) when it
// is over the size bound, or an array holding its count of recipients
// (which no envelope is either) when it has more than MaxRecipients.
func envelopeCol(t string) string {
	e := t + `envelope`
	count := `CASE WHEN jsonb_typeof(` + e + `->'to') = 'array' THEN jsonb_array_length(` + e + `->'to') ELSE 0 END`
	return `CASE WHEN octet_length(` + e + `::text) > ` + maxEnvelopeSQL + ` THEN to_jsonb(octet_length(` + e + `::text))
		WHEN ` + count + ` > ` + maxRecipientsSQL + ` THEN jsonb_build_array(` + count + `) ELSE ` + e + ` END`
}

// itemCols are the columns an Item is made of, in scanItem's order, from
// a queue row o (tlsmail.outbox) and its message m (itemFrom).
var itemCols = `o.id, ` + finite("o.created") + `, ` + envelopeCol("m.") + `, CASE WHEN octet_length(m.settings::text) <= ` + maxSettingsSQL + ` THEN m.settings END, o.size, o.attempts, ` + finite("o.last_attempt") + `, left(o.last_error, ` + maxErrorTextSQL + `), ` + finite("o.next_attempt")

// MaxErrorText bounds the characters of an item's last error and a failed
// item's reason that a claim, a listing and Get read (itemCols,
// failedItemCols): the rest is not read. tlsmail writes a line or a few;
// a host that may enqueue writes the whole row, up to 1 GB of text in
// each, and a claim reads 250 rows that host chose.
const MaxErrorText = 64 << 10

// maxErrorTextSQL is MaxErrorText in the statements.
const maxErrorTextSQL = "65536"

// finite is the timestamp column col as Go can read it, between the Unix
// epoch and the last second of year 9999: PostgreSQL's infinite
// timestamps (which a row written by SQL may hold, and which pgx cannot
// scan into a time.Time: one such row failed every claim and listing)
// become those bounds.
func finite(col string) string {
	return `CASE WHEN ` + col + ` > ` + lastTime + ` THEN ` + lastTime + ` WHEN ` + col + ` < ` + firstTime + ` THEN ` + firstTime + ` ELSE ` + col + ` END`
}

// firstTime and lastTime are finite's bounds.
const (
	firstTime = `timestamptz '1970-01-01 00:00:00Z'`
	lastTime  = `timestamptz '9999-12-31 23:59:59Z'`
)

// itemFrom is the FROM clause of itemCols: the queue rows and their
// messages.
const itemFrom = `tlsmail.outbox o LEFT JOIN tlsmail.message m ON m.id = o.id`

func (q *Queue) scanItem(row pgx.Row, extra ...any) (*outbox.Item, error) {
	return q.scanItemContent(row, false, extra...)
}

// scanItemContent is scanItem for a row whose last column is the
// message itself or NULL (withContent): a message read with the row is
// opened from memory, a NULL one is read from the table when opened.
//
// A row that cannot be read as an item (its message row is missing, or
// its envelope does not decode) gives the item as far as it was read,
// with a zero envelope and EnvelopeError saying why, and an
// *unreadableError: the caller decides (a claim moves the row to the
// failed table, a listing of the queue skips it, a listing of the failed
// items shows it).
func (q *Queue) scanItemContent(row pgx.Row, withContent bool, extra ...any) (*outbox.Item, error) {
	var it outbox.Item
	var env, settings, content []byte
	var last *time.Time
	dest := append([]any{&it.ID, &it.Created, &env, &settings, &it.Size, &it.Attempts, &last, &it.LastError, &it.NextAttempt}, extra...)
	if withContent {
		dest = append(dest, &content)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if last != nil {
		it.LastAttempt = *last
	}
	why := decodeEnvelope(env, &it.Envelope) // why the row cannot be read as an item
	if why != "" {
		// The envelope is unknown (the message's row holds it too).
		it.EnvelopeError = why
	} else if settings == nil {
		// Over MaxSettings (itemCols): not read at all, or a claim of 250 such
		// rows would hold gigabytes.
		why = fmt.Sprintf("its settings are larger than %d KiB (tlsmail writes a few hundred bytes; not read)", MaxSettings>>10)
	}
	id, size := it.ID, it.Size
	// A message larger than a claim inlines is read a slice at a time
	// (streamContent), as `queue show` reads it: a runner delivering
	// several 64 MiB messages at once holds a few MiB of each, not all of
	// them (read whole, 4 at once took a worker near 1 GB).
	open := func() (io.ReadCloser, error) { return q.streamContent(id, size) }
	if content != nil {
		open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }
	}
	item := outbox.NewItem(it, settings, open)
	if why != "" {
		return item, &unreadableError{ID: it.ID, Why: why}
	}
	return item, nil
}

// decodeEnvelope decodes a row's envelope column (envelopeCol) into e and
// returns why it cannot, or "". Only an envelope is an object: a number is
// the size of one over maxEnvelopeSQL and an array the count of recipients
// of one over maxRecipientsSQL, which are looked for only then (each
// json.Unmarshal checks the whole text first: three tries cost a claim of
// 250 items 750 passes over their envelopes).
func decodeEnvelope(env []byte, e *outbox.Envelope) string {
	if env == nil {
		return "its message is missing from the table tlsmail.message"
	}
	switch t := bytes.TrimLeft(env, " \t\r\n"); {
	case len(t) > 0 && t[0] == '[':
		var recipients []int64
		if json.Unmarshal(env, &recipients) == nil && len(recipients) == 1 && recipients[0] > MaxRecipients {
			// Over maxRecipientsSQL (envelopeCol): its count, not the envelope.
			return fmt.Sprintf("its envelope has %d recipients, more than the %d an enqueue accepts (not read)", recipients[0], MaxRecipients)
		}
	case len(t) > 0 && t[0] != '{':
		var size int64
		if json.Unmarshal(env, &size) == nil && size > MaxEnvelope {
			// Over maxEnvelopeSQL (envelopeCol): its size, not the envelope.
			return fmt.Sprintf("its envelope is %d bytes, larger than the %d KiB an enqueue accepts (not read)", size, MaxEnvelope>>10)
		}
	}
	if err := json.Unmarshal(env, e); err != nil {
		*e = outbox.Envelope{}
		return "its envelope is not valid (" + err.Error() + ")"
	}
	return ""
}

// unreadableError is a queued row that cannot be read as an item: a
// fault of the row (written by hand or by another program), not of the
// database, which answered.
type unreadableError struct {
	ID, Why string
}

func (e *unreadableError) Error() string {
	return "the queued item " + e.ID + " cannot be read: " + e.Why
}

// Unwrap is outbox.ErrDamaged: reading the row again reads the same.
func (e *unreadableError) Unwrap() error { return outbox.ErrDamaged }

// reason is the failed item's reason when a run moves the row to the
// failed table.
func (e *unreadableError) reason() string {
	return e.Error() + "; nothing was sent, and the item was moved to the failed items with what it holds: check it, and send the message again"
}

// asUnreadable reports whether err is an *unreadableError.
func asUnreadable(err error) (*unreadableError, bool) {
	var ue *unreadableError
	ok := errors.As(err, &ue)
	return ue, ok
}

// inlineMax is the largest message Claim reads with its item: a small
// message comes with the claim instead of costing a query of its own at
// delivery; a larger one is read when the deliverer opens it, so that a
// batch holds at most limit × inlineMax bytes of content in memory.
const inlineMax = 32 << 10

// Claim takes up to limit due items of one grouping key and equal settings
// (those of the oldest due item no runner holds) for this Queue, with a lease of
// Options.Lease: FOR UPDATE SKIP LOCKED makes concurrent claims take
// different items. force takes items not yet due; ids, when not empty,
// limits the claim to them; before excludes items attempted since then
// (the run's start). It returns no items when none is left to take. A
// claimed row that cannot be read as an item is moved to the failed
// table (claimReadable), not returned.
func (q *Queue) Claim(ctx context.Context, limit int, force bool, ids []string, before time.Time) ([]*outbox.Item, error) {
	items, _, err := q.claimReadable(ctx, limit, force, ids, before, nil)
	return items, err
}

// claimReadable is Claim, which moves the claimed rows that cannot be read
// as items to the failed table (with a reason saying so and what to do,
// and a warning to Options.Logf) rather than fail, so that one such row
// does not stop the queue; it also returns how many it moved (their move
// committed). A move that fails is told to fault (nil: logged only). It
// claims again when every row it took was moved.
func (q *Queue) claimReadable(ctx context.Context, limit int, force bool, ids []string, before time.Time, fault func(error)) ([]*outbox.Item, int, error) {
	moved := 0
	for {
		items, bad, err := q.claim(ctx, limit, force, ids, before)
		if err != nil {
			return nil, moved, err
		}
		for _, ue := range bad {
			// Still leased by this Queue: if the move fails, the row
			// is not claimed again before its lease ends.
			failed, err := q.fail(context.WithoutCancel(ctx), ue.ID, ue.reason(), true, nil)
			if err != nil {
				if fault != nil {
					fault(notRecorded(ue.ID, "move it to the failed items", err))
				} else {
					q.logf("outbox: %v; cannot move it to the failed items (it is claimed again when its lease ends): %v", ue, err)
				}
				continue
			}
			if failed.IsZero() {
				continue // removed meanwhile
			}
			q.logf("outbox: warning: %v; moved to the failed items", ue)
			moved++
		}
		if len(items) > 0 || len(bad) == 0 {
			return items, moved, nil
		}
	}
}

// claim is one claim: the items read, and the rows that could not be.
func (q *Queue) claim(ctx context.Context, limit int, force bool, ids []string, before time.Time) ([]*outbox.Item, []*unreadableError, error) {
	// A claim moves the items' next attempt to its lease's end (when a
	// dead runner's items are tried again): the items no runner holds
	// stay at the front of outbox_due, and "due now" is a bound of the
	// index scan (statement_timestamp is stable within the statement),
	// so a claim reads the rows it takes, not every leased row before
	// them, and a claim that finds nothing reads none.
	dueAt := `(NOT $1::boolean AND next_attempt <= statement_timestamp())`
	if force {
		dueAt = `$1::boolean`
	}
	due := leaseOver + `
		AND ` + dueAt + `
		AND (cardinality($2::text[]) = 0 OR id = ANY($2))
		AND (last_attempt IS NULL OR last_attempt < $3 OR last_attempt > clock_timestamp())`
	if ids == nil {
		ids = []string{}
	}
	// One statement: g locks the oldest due row no runner holds, c
	// leases the due rows of its grouping key (that row first), and the
	// messages of the leased rows come back with them. The queue rows are
	// narrow (schema version 2): a claim rewrites them, never the
	// messages. The leased rows are found by their primary key
	// (= ANY(ARRAY(...))), not by a join that would read the whole table.
	// It runs in a transaction of its own so that an answer that cannot
	// be read leases nothing (rolled back), at READ COMMITTED whatever the
	// database's or role's default: FOR UPDATE SKIP LOCKED then reads a
	// row another runner claimed since the statement began at its latest
	// version, and skips it; at a stricter level the claim would fail
	// with a serialization error instead. (Set per transaction, not as a
	// connection parameter, which a pooler such as PgBouncer refuses.)
	octx, cancel := q.bound(ctx)
	defer cancel()
	tx, err := q.pool.BeginTx(octx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, nil, connErr("run", err)
	}
	defer func() {
		// After the caller's cancellation too, within the bound.
		rctx, cancel := q.bound(context.WithoutCancel(ctx))
		tx.Rollback(rctx)
		cancel()
	}()
	rows, err := tx.Query(octx, `WITH g AS MATERIALIZED (SELECT group_key FROM tlsmail.outbox WHERE `+due+`
			ORDER BY next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED),
		c AS (UPDATE tlsmail.outbox SET lease_owner = $4, lease_until = clock_timestamp() + $5::interval,
				next_attempt = greatest(next_attempt, clock_timestamp() + $5::interval), created = least(greatest(created, `+firstTime+`), clock_timestamp())
			WHERE id = ANY(ARRAY(SELECT id FROM tlsmail.outbox WHERE group_key = (SELECT group_key FROM g) AND `+due+`
				ORDER BY next_attempt, id LIMIT $6 FOR UPDATE SKIP LOCKED))
			RETURNING *)
		SELECT `+itemCols+`, CASE WHEN octet_length(m.content) <= $7 THEN m.content END
		FROM c o LEFT JOIN tlsmail.message m ON m.id = o.id ORDER BY o.id`, force, ids, before, q.owner, q.opts.Lease, limit, inlineMax)
	if err != nil {
		return nil, nil, connErr("run", err)
	}
	var items []*outbox.Item
	var bad []*unreadableError
	for rows.Next() {
		it, err := q.scanItemContent(rows, true)
		if ue, ok := asUnreadable(err); ok {
			bad = append(bad, ue)
			continue
		}
		if err != nil {
			rows.Close()
			return nil, nil, connErr("run", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, connErr("run", err)
	}
	if err := tx.Commit(octx); err != nil {
		return nil, nil, connErr("run", err)
	}
	// A batch is delivered with its first item's settings: an item whose
	// settings differ although its grouping key is equal (a row of an
	// earlier release, whose group_key was its caller's, or one edited by
	// hand) is given back, to be claimed in a batch of its own.
	var other []string
	keep := items[:0]
	for _, it := range items {
		if string(it.Data()) != string(items[0].Data()) {
			other = append(other, it.ID)
			continue
		}
		keep = append(keep, it)
	}
	q.release(context.WithoutCancel(ctx), other)
	return keep, bad, nil
}

// Complete removes a delivered item (its final 250).
func (q *Queue) Complete(ctx context.Context, id string) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	if _, err := q.pool.Exec(ctx, `WITH m AS (DELETE FROM tlsmail.message WHERE id = $1)
		DELETE FROM tlsmail.outbox WHERE id = $1`, id); err != nil {
		return connErr("run", err)
	}
	return nil
}

// Defer records a temporary failure: one more attempt, the error, the next
// attempt after the backoff (u is its random draw), and the lease given
// back. An item older than MaxAge moves to the failed table instead; Defer
// says whether it did.
func (q *Queue) Defer(ctx context.Context, it *outbox.Item, reason string, u float64) (expired bool, err error) {
	r, err := q.deferItem(ctx, it, reason, u)
	return !r.failedAt.IsZero(), err
}

// deferred is what deferItem recorded: the item's next attempt, or the
// time it was moved to the failed table (expired); both zero when it
// recorded nothing (another runner holds the item now, or it is gone).
// expired says the item was past MaxAge, so that what deferItem tried
// (and may have failed to record) was the move to the failed table.
type deferred struct {
	next, failedAt time.Time
	expired        bool
}

// deferItem is Defer, which says what it recorded, once committed.
func (q *Queue) deferItem(ctx context.Context, it *outbox.Item, reason string, u float64) (deferred, error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var age time.Duration
	if err := q.pool.QueryRow(ctx, `SELECT clock_timestamp() - created FROM tlsmail.outbox WHERE id = $1`, it.ID).Scan(&age); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return deferred{}, nil // removed meanwhile (queue remove)
		}
		return deferred{}, connErr("run", err)
	}
	if age > q.opts.MaxAge {
		at, err := q.fail(ctx, it.ID, fmt.Sprintf("expired after %s in the queue; last error: %s", age.Round(time.Minute), reason), false, nil)
		return deferred{failedAt: at, expired: true}, err
	}
	delay := q.opts.Backoff.Delay(it.Attempts+1, u)
	var next time.Time
	err := q.pool.QueryRow(ctx, `UPDATE tlsmail.outbox SET attempts = `+nextAttempts("attempts")+`, last_attempt = clock_timestamp(),
		last_error = $2, next_attempt = clock_timestamp() + $3::interval, lease_owner = NULL, lease_until = NULL
		WHERE id = $1 AND `+notHeldByOther("$4")+` RETURNING next_attempt`, it.ID, reason, delay, q.owner).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return deferred{}, nil // another runner holds it now, or it was removed
	}
	if err != nil {
		return deferred{}, connErr("run", err)
	}
	return deferred{next: next}, nil
}

// nextAttempts is the attempts column col counted one more, stopping at
// the integer's largest: a row's count is its inserter's to choose, and
// "attempts + 1" of the largest failed the statement that defers or fails
// the item (it came back every lease, and never expired).
func nextAttempts(col string) string {
	return col + ` + (` + col + ` < 2147483647)::integer`
}

// notHeldByOther is the condition under which Defer and Fail settle an
// item: no other runner's lease on it is running (owner is the parameter
// that holds this Queue's owner). A runner whose lease ran out (it was frozen, or cut off from the
// database) and whose item another runner has claimed since leaves the
// item to that runner: settling it would give back the other's lease (a
// third runner could then send it too) or move it away mid-delivery. A
// 250 is recorded whoever holds the item: the message is delivered.
func notHeldByOther(owner string) string {
	return `(lease_owner IS NULL OR lease_owner = ` + owner + ` OR ` + leaseOver + `)`
}

// leaseOver is the condition under which no runner's lease on a row is
// running: it has none, it ended, or it ends further than MaxLease from
// now, which no runner sets (a row written by hand or by a host that may
// only enqueue: honoured, lease_until 'infinity' kept the row from every
// runner, and from queue remove, for ever).
const leaseOver = `(lease_until IS NULL OR lease_until < clock_timestamp() OR lease_until > clock_timestamp() + interval '` + maxLeaseSQL + `')`

// maxLeaseSQL is MaxLease in the statements.
const maxLeaseSQL = "3600 seconds"

// Fail moves an item to the failed table with the reason, in one
// transaction, unless another runner holds it now.
func (q *Queue) Fail(ctx context.Context, id, reason string, permanent bool) error {
	_, err := q.fail(ctx, id, reason, permanent, nil)
	return err
}

// fail is Fail that, when to is not nil, keeps only the recipients to in
// the failed item's envelope (outbox.Result.Recipients). It returns the
// failed item's failed_at once the move is committed; zero when nothing
// moved (another runner holds the item now, or it is gone).
func (q *Queue) fail(ctx context.Context, id, reason string, permanent bool, to []string) (time.Time, error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var narrowed any // SQL NULL: the envelope as it is
	if to != nil {
		b, err := json.Marshal(to)
		if err != nil {
			return time.Time{}, err
		}
		narrowed = string(b)
	}
	// A queue row without its message (removed by hand) still moves,
	// with an empty one.
	var at time.Time
	err := q.pool.QueryRow(ctx, `WITH d AS (DELETE FROM tlsmail.outbox WHERE id = $1 AND `+notHeldByOther("$5")+` RETURNING *),
		m AS (DELETE FROM tlsmail.message WHERE id IN (SELECT id FROM d) RETURNING *)
		INSERT INTO tlsmail.failed (id, created, envelope, settings, group_key, content, size, attempts,
			last_attempt, last_error, failed_at, reason, permanent)
		SELECT d.id, d.created,
			CASE WHEN $4::jsonb IS NULL THEN coalesce(m.envelope, '{}') ELSE jsonb_set(coalesce(m.envelope, '{}'), '{to}', $4::jsonb) END,
			coalesce(m.settings, '{}'), d.group_key, coalesce(m.content, ''), d.size, `+nextAttempts("d.attempts")+`,
			clock_timestamp(), $2, clock_timestamp(), $2, $3 FROM d LEFT JOIN m ON m.id = d.id
		RETURNING failed_at`, id, reason, permanent, narrowed, q.owner).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, connErr("run", err)
	}
	return at, nil
}

// notRecorded is the error of a run whose result for the item id could
// not be recorded (what it tried to do: "move it to the failed items"):
// the item stays queued and is tried again when its lease ends.
func notRecorded(id, what string, err error) error {
	fix := "the item stays queued and is tried again when its lease ends"
	var oe *Error
	if errors.As(err, &oe) && oe.Fix != "" {
		fix = oe.Fix + "; " + fix
	}
	return &Error{Op: "run", ID: id, Msg: "cannot " + what, Err: bare(err), Fix: fix}
}

// bare is err without its fix, when it is an *Error (notRecorded's fix
// holds it): the text says the fix once.
func bare(err error) error {
	var oe *Error
	if !errors.As(err, &oe) || oe.Fix == "" || err != error(oe) {
		return err
	}
	b := *oe
	b.Fix = ""
	return &b
}

// release gives back the leases of items claimed and not attempted: they
// are due at once (a claim had moved their next attempt to the lease's
// end; one taken by a forced run before it was due is due now too).
func (q *Queue) release(ctx context.Context, ids []string) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	if len(ids) == 0 {
		return
	}
	if _, err := q.pool.Exec(ctx, `UPDATE tlsmail.outbox SET lease_owner = NULL, lease_until = NULL,
			next_attempt = least(next_attempt, clock_timestamp())
		WHERE id = ANY($1) AND lease_owner = $2`, ids, q.owner); err != nil {
		q.logf("outbox: cannot give back %d claims (they come back when their lease ends): %v", len(ids), err)
	}
}

// leaseClock is what a runner knows of its lease on a batch, by its own
// monotonic clock: the lease was set or renewed by a statement sent at
// confirmed or later, so it lasts at least until confirmed + Lease. A
// process that was stopped (SIGSTOP, a paused VM) or cut off from the
// database finds out from it, when it runs again, that its lease may have
// passed to another runner.
type leaseClock struct {
	mu        sync.Mutex
	confirmed time.Time
	lost      bool
}

// renewed records a renewal sent at t: it counts only while the lease
// was still known to hold (once lost, another runner may have the items).
func (c *leaseClock) renewed(t time.Time, lease time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lost && t.Sub(c.confirmed) < lease {
		c.confirmed = t
	}
}

// holds reports whether the lease is surely still this runner's with
// room for a delivery: less than 5/6 of it has passed since the last
// confirmation (a healthy runner renews every third, so one failed
// renewal does not end it).
func (c *leaseClock) holds(lease time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.confirmed) >= lease*5/6 {
		c.lost = true
	}
	return !c.lost
}

// errLeaseLost is the error an item of a batch opens with once its
// runner can no longer be sure of its lease.
var errLeaseLost = errors.New("not sent by this runner: its lease on the item may have ended (the process was stopped or could not reach the database for most of the lease), so another runner may have it")

// renew extends the leases of ids until ctx is done, and records each
// renewal in lc.
func (q *Queue) renew(ctx context.Context, ids []string, lc *leaseClock) {
	t := time.NewTicker(q.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sent := time.Now()
			// Bounded by the renewal interval too: a renewal that hangs
			// must not hold up the next one.
			rctx, cancel := context.WithTimeout(ctx, min(q.opTimeout, q.opts.Lease/3))
			_, err := q.pool.Exec(rctx, `UPDATE tlsmail.outbox SET lease_until = clock_timestamp() + $3::interval,
					next_attempt = greatest(next_attempt, clock_timestamp() + $3::interval)
				WHERE id = ANY($1) AND lease_owner = $2`, ids, q.owner, q.opts.Lease)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					q.logf("outbox: cannot renew the lease of %d items: %v", len(ids), err)
				}
				continue
			}
			lc.renewed(sent, q.opts.Lease)
		}
	}
}

// Run delivers the due items (all with rc.Force) in batches of one
// grouping key, rc.Parallel at once, claiming each batch (Claim) and
// recording each result as the spool does: delivered items are removed,
// temporary failures deferred (or expired to the failed table), permanent
// ones moved there. Items other runners hold count as Busy. rc.Now is not
// used: the database's clock is.
func (q *Queue) Run(ctx context.Context, rc outbox.RunConfig) (outbox.Stats, error) {
	if rc.Deliver == nil {
		return outbox.Stats{}, &Error{Op: "run", Msg: "no deliverer given"}
	}
	rc.Parallel = max(rc.Parallel, 1)
	if rc.BatchSize < 1 {
		rc.BatchSize = 100
	}
	var start time.Time
	sctx, cancel := q.bound(ctx)
	err := q.pool.QueryRow(sctx, `SELECT clock_timestamp()`).Scan(&start)
	cancel()
	if err != nil {
		return outbox.Stats{}, connErr("run", err)
	}
	var (
		mu    sync.Mutex
		stats outbox.Stats
		first error
	)
	count := func(f func(*outbox.Stats)) { mu.Lock(); f(&stats); mu.Unlock() }
	// A result that could not be recorded is the run's error (the item
	// is tried again after its lease), not a count. A refused deletion
	// is the one returned if there are several: it is the one that stops
	// a Worker (outbox.ErrRemoveRefused).
	fault := func(err error) {
		mu.Lock()
		if errors.Is(err, outbox.ErrRemoveRefused) && !errors.Is(first, outbox.ErrRemoveRefused) {
			first = err
		}
		first = cmp.Or(first, err)
		mu.Unlock()
	}
	// Bookkeeping outlives a cancelled run: a result known is recorded.
	rec := q.newRecorder(context.WithoutCancel(ctx), rc, count, fault, groupLinger)
	// One claim at a time per run: a claim is one short statement, and
	// claims side by side would each need a database connection of their
	// own, which costs the server a backend (its start and caches, about
	// as much as 2,000 messages' deletions on the test machine) for a
	// run that then needs one connection for its deletions and one for
	// the rest.
	var claimMu sync.Mutex
	var wg sync.WaitGroup
	for range rc.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No batch is claimed once a deletion failed: its messages
			// would be delivered and stay queued too.
			for ctx.Err() == nil && !rec.broken() {
				claimed := time.Now()
				claimMu.Lock()
				batch, moved, err := q.claimReadable(ctx, rc.BatchSize, rc.Force, rc.IDs, start, fault)
				claimMu.Unlock()
				if moved > 0 {
					count(func(s *outbox.Stats) { s.Failed += moved })
				}
				if err != nil || len(batch) == 0 {
					if err != nil && ctx.Err() == nil {
						fault(err)
					}
					return
				}
				q.batch(ctx, rc, batch, claimed, rec, count, fault)
			}
		}()
	}
	wg.Wait()
	rec.close()
	if first != nil {
		return stats, first
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	var next *time.Time
	var notDue, busy int
	ctx, cancel = q.bound(ctx)
	defer cancel()
	if err := q.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE next_attempt > clock_timestamp() AND `+leaseOver+`),
			count(*) FILTER (WHERE NOT `+leaseOver+`),
			min(`+finite("next_attempt")+`)
		FROM tlsmail.outbox WHERE cardinality($1::text[]) = 0 OR id = ANY($1)`, nonNil(rc.IDs)).Scan(&notDue, &busy, &next); err != nil {
		return stats, connErr("run", err)
	}
	stats.NotDue, stats.Busy = notDue, busy
	if next != nil {
		stats.Next = *next
	}
	return stats, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// batch delivers one claimed batch and settles each item.
//
// Delivered items are deleted in groups (group commit): report hands them
// to the run's recorder, which deletes whatever the run's connections have
// gathered in one transaction (deleteDelivered), while the deliverer goes
// on with the next message, so that a connection's pipeline is not held to
// one database round trip per message. An item stays leased until its
// group is committed, so a runner that dies meanwhile loses nothing: the
// items come back after the lease and are sent again (at-least-once). The
// window is bounded per connection: report returns only while fewer than
// Options.MaxUnrecorded of this batch's delivered items wait for their
// deletion, so a runner that dies sends again at most MaxUnrecorded + 1
// messages of this connection (the +1: a message whose 250 it had not
// read yet).
func (q *Queue) batch(ctx context.Context, rc outbox.RunConfig, batch []*outbox.Item, claimed time.Time, rec *recorder, count func(func(*outbox.Stats)), fault func(error)) {
	ids := make([]string, len(batch))
	lc := &leaseClock{confirmed: claimed}
	b := rec.begin()
	for i, it := range batch {
		ids[i] = it.ID
		// An item is not started once the lease may have passed to
		// another runner: a runner stopped for longer than its lease
		// would otherwise send the rest of its batch after the runner
		// that took it over (duplicates with no runner dead). Nor once
		// the deletion of an item this batch delivered failed: every
		// message sent after it would be sent again too.
		batch[i] = outbox.NewItem(*it, it.Data(), func() (io.ReadCloser, error) {
			if rec.stopped(b) {
				return nil, errUnrecorded
			}
			if !lc.holds(q.opts.Lease) {
				return nil, errLeaseLost
			}
			return it.Open()
		})
	}
	rctx, stop := context.WithCancel(ctx)
	go q.renew(rctx, ids, lc)
	var mu sync.Mutex
	reported := map[string]bool{}
	bctx := context.WithoutCancel(ctx)
	var lost []string    // items not started: the lease may have ended
	var stopped []string // items not started: a deletion failed
	report := func(it *outbox.Item, res outbox.Result) {
		mu.Lock()
		if reported[it.ID] {
			mu.Unlock()
			return
		}
		reported[it.ID] = true
		if errors.Is(res.Err, errLeaseLost) {
			lost = append(lost, it.ID)
			mu.Unlock()
			return
		}
		if errors.Is(res.Err, errUnrecorded) {
			stopped = append(stopped, it.ID)
			mu.Unlock()
			return
		}
		mu.Unlock()
		if res.Outcome == outbox.Delivered {
			rec.add(b, settled{it, res})
			return
		}
		q.settle(bctx, rc, it, res, count, fault)
	}
	err := rc.Deliver(ctx, batch, report)
	rec.end(b)
	stop()
	var left []string
	for _, it := range batch {
		mu.Lock()
		done := reported[it.ID]
		mu.Unlock()
		if done {
			continue
		}
		if err != nil && ctx.Err() == nil {
			report(it, outbox.Result{Outcome: outbox.Temporary, Err: err})
		} else {
			left = append(left, it.ID)
		}
	}
	mu.Lock()
	left = append(left, lost...)
	left = append(left, stopped...)
	mu.Unlock()
	if len(lost) > 0 {
		q.logf("outbox: %d items of a batch were not started: the lease on them may have ended (this process was stopped, or could not reach the database, for most of the lease %s); they are left to the runner that holds them now", len(lost), q.opts.Lease)
	}
	q.release(bctx, left)
}

// recorder deletes the delivered items of one Run's batches, in groups
// shared by its connections: one statement (a transaction, the costliest
// part of a delivered message for the database server when it comes
// alone) for the 250s of every connection of the run. A group is
// deleted once it holds half of MaxUnrecorded per delivering batch, or
// groupLinger after its first item, or at once when a deliverer waits for
// it (it reached MaxUnrecorded, or its batch is over); while one group is
// deleted the next gathers, and it waits for the same threshold once the
// deletion is over, rather than being deleted at once as a small group of
// its own. A deliverer that reaches MaxUnrecorded makes the recorder
// delete at once, so what a killed runner sends twice stays bounded by
// MaxUnrecorded.
type recorder struct {
	q      *Queue
	ctx    context.Context
	rc     outbox.RunConfig
	count  func(func(*outbox.Stats))
	fault  func(error) // told a deletion that failed
	failed bool        // a deletion failed

	mu       sync.Mutex
	recorded *sync.Cond // broadcast when a group is committed (or given up)
	pending  []pendingItem
	active   int // batches delivering
	waiting  int // deliverers waiting for their items' deletion
	kick     chan struct{}
	closing  chan struct{}
	drained  chan struct{}
	linger   time.Duration // groupLinger but in tests
}

// pendingItem is a delivered item waiting for its deletion, and its
// batch's count of those.
type pendingItem struct {
	settled
	b *recBatch
}

// recBatch is a batch's count of delivered items whose deletion is not
// committed (those pending and those of the group being deleted), and
// whether the deletion of one of them failed (the batch then starts no
// other item: each would be sent again too).
type recBatch struct {
	unrecorded int
	failed     bool
}

func (q *Queue) newRecorder(ctx context.Context, rc outbox.RunConfig, count func(func(*outbox.Stats)), fault func(error), linger time.Duration) *recorder {
	r := &recorder{q: q, ctx: ctx, rc: rc, count: count, fault: fault, linger: linger,
		kick: make(chan struct{}, 1), closing: make(chan struct{}), drained: make(chan struct{})}
	r.recorded = sync.NewCond(&r.mu)
	go r.loop()
	return r
}

func (r *recorder) loop() {
	defer close(r.drained)
	for open := true; ; {
		if open {
			select {
			case <-r.kick:
			case <-r.closing:
				open = false
			}
		}
		if open {
			open = gather(r.kick, r.closing, r.full, r.linger)
		}
		r.mu.Lock()
		group := r.pending
		r.pending = nil
		r.mu.Unlock()
		if len(group) == 0 {
			if !open {
				return
			}
			continue
		}
		items := make([]settled, len(group))
		for i, p := range group {
			items[i] = p.settled
		}
		err := r.q.completeGroup(r.ctx, r.rc, items, r.count)
		if err != nil && r.fault != nil {
			r.fault(err)
		}
		r.mu.Lock()
		for _, p := range group {
			p.b.unrecorded--
			p.b.failed = p.b.failed || err != nil
		}
		r.failed = r.failed || err != nil
		r.recorded.Broadcast()
		// The items delivered while this group was deleted form the
		// next group: it gathers (gather) like the first, rather than
		// being deleted at once as a small group of its own.
		if len(r.pending) > 0 {
			r.poke()
		}
		r.mu.Unlock()
	}
}

// full reports whether the pending group should be deleted now.
func (r *recorder) full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waiting > 0 || len(r.pending) >= max(1, r.q.opts.MaxUnrecorded/2)*max(1, r.active)
}

func (r *recorder) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// stopped reports whether the deletion of an item b delivered failed.
func (r *recorder) stopped(b *recBatch) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return b.failed
}

// broken reports whether a deletion failed.
func (r *recorder) broken() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// begin registers a batch that starts delivering.
func (r *recorder) begin() *recBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active++
	return &recBatch{}
}

// add queues a delivered item of b for deletion and returns while fewer
// than MaxUnrecorded of b's delivered items wait for theirs: that bounds
// what a runner that dies now sends twice.
func (r *recorder) add(b *recBatch, s settled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, pendingItem{s, b})
	b.unrecorded++
	r.poke()
	r.waitBelow(b, r.q.opts.MaxUnrecorded)
}

// end waits until every delivered item of b is recorded, and unregisters
// it.
func (r *recorder) end(b *recBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waitBelow(b, 1)
	r.active--
}

// waitBelow waits (r.mu held) until b has fewer than n unrecorded items.
func (r *recorder) waitBelow(b *recBatch, n int) {
	if b.unrecorded < n {
		return
	}
	r.waiting++
	r.poke()
	for b.unrecorded >= n {
		r.recorded.Wait()
	}
	r.waiting--
}

// close deletes what is pending and stops the recorder.
func (r *recorder) close() {
	close(r.closing)
	<-r.drained
}

// groupLinger is how long the deletion of a delivered item may wait for
// others to join its group (gather).
const groupLinger = 20 * time.Millisecond

// gather waits until full reports that a deletion group is big enough,
// groupLinger has passed, or closing is closed (it then returns false:
// the run is over). Each deletion is a transaction, the costliest part
// of a message for the server when it comes alone: on a fast connection
// 250s arrive a few milliseconds apart, and without waiting most groups
// would hold one item. Waiting for half of MaxUnrecorded per delivering
// connection keeps each deliverer going (it waits only at MaxUnrecorded)
// and does not widen the duplicate bound; sharing the group among a
// run's connections divides the statements by their number; the linger
// bounds how long a slow connection's 250 stays unrecorded.
func gather(kick, closing <-chan struct{}, full func() bool, linger time.Duration) bool {
	t := time.NewTimer(linger)
	defer t.Stop()
	for !full() {
		select {
		case <-kick:
		case <-closing:
			return false
		case <-t.C:
			return true
		}
	}
	return true
}

// settled is an item and its result.
type settled struct {
	it  *outbox.Item
	res outbox.Result
}

// completeGroup removes delivered items (their final 250) in one
// statement, then counts and reports them. A delivered item left in the
// table is sent again once its lease ends: it keeps trying for half the
// lease while the database is unreachable (it may be restarting), aborts
// the delete as a deadlock victim (the lease renewal locks the same rows)
// or times out on a lock. It returns the error of a deletion that failed
// for good (the run's error: the items were delivered and are still
// queued).
func (q *Queue) completeGroup(ctx context.Context, rc outbox.RunConfig, group []settled, count func(func(*outbox.Stats))) error {
	ids := make([]string, len(group))
	for i, s := range group {
		ids[i] = s.it.ID
	}
	var err error
	refused := false // the database refused the deletion, for good
	for until := time.Now().Add(q.opts.Lease / 2); ; {
		if err = q.deleteDelivered(ctx, ids); err == nil {
			break
		}
		transient := retryable(err)
		err = connErr("run", err)
		if errors.Is(err, ErrClosed) {
			break // this program closed the Queue: no retry heals it, and the database refused nothing
		}
		if !(transient || errors.Is(err, ErrUnavailable)) {
			refused = true
			break
		}
		if time.Now().After(until) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	count(func(s *outbox.Stats) { s.Delivered += len(group) })
	if rc.OnResult != nil {
		for _, s := range group {
			rc.OnResult(s.it, s.res)
		}
	}
	if err == nil {
		return nil
	}
	fix := "to keep them from being sent again, remove them (`queue remove`) before their lease ends"
	if len(ids) == 1 {
		fix = "to keep it from being sent again, remove it (`queue remove`) before its lease ends"
	}
	var oe *Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42501": // insufficient_privilege
		fix = "GRANT the workers' database role DELETE on tlsmail.outbox and tlsmail.message (docs/deployment.md, 'Database access'); " + fix
	case errors.As(err, &oe) && oe.Fix != "":
		fix = oe.Fix + "; " + fix
	}
	msg := "cannot record the delivery of this item: it was delivered and is still queued, so it is sent again when its lease ends"
	if len(ids) > 1 {
		msg = fmt.Sprintf("cannot record the delivery of %d items (this one and %d others): they were delivered and are still queued, so they are sent again when their lease ends", len(ids), len(ids)-1)
	}
	err = bare(err)
	if refused {
		// No later run can do better: errors.Is finds
		// outbox.ErrRemoveRefused (a Worker stops on it).
		err = removeRefused{err}
	}
	return &Error{Op: "run", ID: ids[0], Msg: msg, Err: err, Fix: fix}
}

// removeRefused is the database's refusal of a deletion of delivered
// items: its text, and outbox.ErrRemoveRefused.
type removeRefused struct{ err error }

func (r removeRefused) Error() string   { return r.err.Error() }
func (r removeRefused) Unwrap() []error { return []error{outbox.ErrRemoveRefused, r.err} }

// errUnrecorded is the error an item of a batch opens with once the
// deletion of an item the batch delivered failed.
var errUnrecorded = errors.New("not sent by this runner: the delivery of an earlier message of its batch could not be recorded")

// deleteDelivered deletes delivered items in one transaction that does
// not wait for its commit record to reach the disk (synchronous_commit
// off, for this transaction alone): COMMIT returns once the server has
// the commit, so a runner killed after it cannot bring the rows back;
// only a crash of the PostgreSQL server itself can lose such a commit
// (within about three times wal_writer_delay, 600 ms by default), and a
// lost deletion is a message sent again, never one lost.
func (q *Queue) deleteDelivered(ctx context.Context, ids []string) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	// One statement in its own transaction: set_config's third argument
	// (is_local) makes the setting last until the end of the current
	// transaction, which for a statement sent alone is the statement's
	// own, and the commit reads synchronous_commit when it is made. The
	// uncorrelated subquery is run once, before the first row. This
	// costs the server one statement per group instead of four (BEGIN,
	// SET LOCAL, DELETE, COMMIT).
	_, err := q.pool.Exec(ctx, `WITH m AS (DELETE FROM tlsmail.message WHERE id = ANY($1))
		DELETE FROM tlsmail.outbox WHERE id = ANY($1)
		AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'`, ids)
	return err
}

// retryable reports whether the server aborted a statement for a reason
// that trying it again may clear: a deadlock or serialization failure
// (SQLSTATE class 40, which PostgreSQL's documentation says to retry) or
// a lock timeout (55P03).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "40") || pe.Code == "55P03")
}

// settle records one item's result. An item is counted (Failed,
// Expired, Deferred) once what settles it is committed; a statement that
// fails is told to fault, and the item, still queued and leased, is tried
// again when its lease ends. Delivered items go to completeGroup.
func (q *Queue) settle(ctx context.Context, rc outbox.RunConfig, it *outbox.Item, res outbox.Result, count func(func(*outbox.Stats)), fault func(error)) {
	reason := ""
	if res.Err != nil {
		reason = res.Err.Error()
	}
	var err error
	what := "record the deferral"
	switch res.Outcome {
	case outbox.Delivered:
		if err := q.completeGroup(ctx, rc, []settled{{it, res}}, count); err != nil {
			fault(err)
		}
		return
	case outbox.Permanent:
		what = "move it to the failed items"
		to := outbox.NarrowRecipients(it.Envelope.To, res.Recipients)
		var at time.Time
		if at, err = q.fail(ctx, it.ID, reason, true, to); err == nil && !at.IsZero() {
			if to != nil {
				it.Envelope.To = to
			}
			it.FailedAt, it.Reason, it.Permanent = at, reason, true
			count(func(s *outbox.Stats) { s.Failed++ })
		}
	default:
		u := rand.Float64()
		if rc.Rand != nil {
			u = rc.Rand()
		}
		var d deferred
		d, err = q.deferItem(ctx, it, reason, u)
		if d.expired {
			what = "move it to the failed items (it expired)"
		}
		switch {
		case err != nil:
		case !d.failedAt.IsZero():
			it.Attempts++
			it.LastError = reason
			it.FailedAt, it.Reason = d.failedAt, reason
			count(func(s *outbox.Stats) { s.Failed++; s.Expired++ })
		case !d.next.IsZero():
			it.Attempts++
			it.LastError = reason
			it.NextAttempt = d.next
			count(func(s *outbox.Stats) { s.Deferred++ })
		}
	}
	if err != nil {
		fault(notRecorded(it.ID, what, err)) // Run's error: not logged too
	}
	if rc.OnResult != nil {
		rc.OnResult(it, res)
	}
}
