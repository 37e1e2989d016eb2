package pgqueue

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
)

// opTimeout bounds every database operation (a statement or a short
// transaction, with the wait for its connection): a connection whose peer
// vanished without closing it (a host or network failure, a NAT or
// firewall that dropped the flow) answers nothing, and TCP's keepalive
// takes hours to notice. When it passes, pgx closes the connection and
// the operation fails as the database being unavailable. The listing and
// removal calls, which take no context, are bounded by it too.
const opTimeout = time.Minute

// OpTimeout is opTimeout, for the packages that talk to the queue's
// database themselves (anystore.Migrate connects within it).
const OpTimeout = opTimeout

// wholeTimeout bounds an operation that carries a whole message (up to
// MaxSize, 64 MiB): EnqueueData's statements. (A message is read a slice
// at a time, each slice within opTimeout.)
const wholeTimeout = 5 * time.Minute

// bound is ctx bounded by the Queue's operation timeout (opTimeout; the
// tests shorten it).
func (q *Queue) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, q.opTimeout)
}

// List returns the queued items, oldest first.
func (q *Queue) List() ([]*outbox.Item, error) { return q.list(false) }

// ListFailed returns the failed items, oldest first.
func (q *Queue) ListFailed() ([]*outbox.Item, error) { return q.list(true) }

func (q *Queue) list(failed bool) ([]*outbox.Item, error) {
	items, _, _, err := q.page(failed, "", 0)
	return items, err
}

// page lists up to limit items (0: all) with IDs after after, in ID order
// (oldest first); it also returns the last ID it read and how many rows it
// read. A queued row that cannot be read as an item is skipped with a
// warning (a run moves it to the failed items), as the spool skips a
// corrupt file; a failed one is listed with what could be read.
func (q *Queue) page(failed bool, after string, limit int) (items []*outbox.Item, last string, n int, err error) {
	ctx, cancel := q.bound(context.Background())
	defer cancel()
	sql := `SELECT ` + itemCols + ` FROM ` + itemFrom + ` WHERE o.id > $1 ORDER BY o.id`
	if failed {
		sql = `SELECT ` + failedItemCols + ` FROM tlsmail.failed WHERE id > $1 ORDER BY id`
	}
	if limit > 0 {
		sql += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := q.pool.Query(ctx, sql, after)
	if err != nil {
		return nil, "", 0, connErr("list", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it *outbox.Item
		if failed {
			it, err = q.scanFailed(rows)
		} else {
			it, err = q.scanItem(rows)
		}
		if ue, ok := asUnreadable(err); ok {
			n++
			last = ue.ID
			if !failed {
				q.logf("outbox: warning: %v; skipped (a queue run moves it to the failed items)", ue)
				continue
			}
			err = nil
		}
		if err != nil {
			return nil, "", 0, connErr("list", err)
		}
		n++
		last = it.ID
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", 0, connErr("list", err)
	}
	return items, last, n, nil
}

// failedItemCols are itemCols for the failed table, which has no next
// attempt, and the failure's columns.
var failedItemCols = `id, ` + finite("created") + `, ` + envelopeCol("") + `, CASE WHEN octet_length(settings::text) <= ` + maxSettingsSQL + ` THEN settings END, size, attempts, ` + finite("last_attempt") + `, left(last_error, ` + maxErrorTextSQL + `), failed_at, failed_at, left(reason, ` + maxErrorTextSQL + `), permanent`

// scanFailed scans a row of failedItemCols: the item, with its failure
// and no next attempt (the column scanned in its place is failed_at).
func (q *Queue) scanFailed(row pgx.Row) (*outbox.Item, error) {
	var at time.Time
	var reason string
	var perm bool
	it, err := q.scanItem(row, &at, &reason, &perm)
	if it == nil {
		return nil, err
	}
	it.FailedAt, it.Reason, it.Permanent, it.NextAttempt = at, reason, perm, time.Time{}
	return it, err
}

// Count returns how many items are queued.
func (q *Queue) Count() (int, error) { return q.count(`SELECT count(*) FROM tlsmail.outbox`) }

// CountFailed returns how many items failed.
func (q *Queue) CountFailed() (int, error) { return q.count(`SELECT count(*) FROM tlsmail.failed`) }

func (q *Queue) count(sql string) (int, error) {
	ctx, cancel := q.bound(context.Background())
	defer cancel()
	var n int
	if err := q.pool.QueryRow(ctx, sql).Scan(&n); err != nil {
		return 0, connErr("list", err)
	}
	return n, nil
}

// Get returns the queued or failed item with this ID. Its Open streams
// the message from the database in slices of 1 MiB (streamChunk: bounded
// memory for a message of any size), with outbox.ErrNotFound if the item is
// removed before the last one is read.
func (q *Queue) Get(id string) (*outbox.Item, error) {
	if !possibleID(id) {
		return nil, &Error{Op: "get", ID: id, Msg: "no such item (not an ID the database can hold)", Err: outbox.ErrNotFound}
	}
	ctx, cancel := q.bound(context.Background())
	defer cancel()
	it, err := q.scanItem(q.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM `+itemFrom+` WHERE o.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		it, err = q.scanFailed(q.pool.QueryRow(ctx, `SELECT `+failedItemCols+` FROM tlsmail.failed WHERE id = $1`, id))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &Error{Op: "get", ID: id, Msg: "no such item", Err: outbox.ErrNotFound}
	}
	if ue, ok := asUnreadable(err); ok {
		if it.FailedAt.IsZero() {
			// Err is ue, so errors.Is finds outbox.ErrDamaged.
			return nil, &Error{Op: "get", ID: id, Msg: outbox.ErrDamaged.Error(), Err: ue,
				Fix: "send the message again from its source, and remove the item (a queue run moves it to the failed items); look for a program other than tlsmail that changes the queue's tables"}
		}
		err = nil // a failed item: shown with what could be read
	}
	if err != nil {
		return nil, connErr("get", err)
	}
	// Its content is streamed when opened, a slice at a time: a reader of
	// one item (a person looking at it) holds a few MiB, not the message.
	size := it.Size
	return outbox.NewItem(*it, it.Data(), func() (io.ReadCloser, error) { return q.streamContent(id, size) }), nil
}

// possibleID reports whether an item can have id: PostgreSQL's text holds
// valid UTF-8 without NUL bytes only, and refuses a statement with any
// other parameter (an error that would read as the database failing, and
// a line in its log), so such an id is no item's.
func possibleID(id string) bool {
	return utf8.ValidString(id) && !strings.Contains(id, "\x00")
}

// Remove deletes a queued or failed item; ErrBusy while a runner's lease
// on it lasts.
func (q *Queue) Remove(id string) error {
	if !possibleID(id) {
		return &Error{Op: "remove", ID: id, Msg: "no such item (not an ID the database can hold)", Err: outbox.ErrNotFound}
	}
	ctx, cancel := q.bound(context.Background())
	defer cancel()
	var removed int
	if err := q.pool.QueryRow(ctx, `WITH d AS (DELETE FROM tlsmail.outbox WHERE id = $1
			AND `+leaseOver+` RETURNING id),
		m AS (DELETE FROM tlsmail.message WHERE id IN (SELECT id FROM d))
		SELECT count(*) FROM d`, id).Scan(&removed); err != nil {
		return connErr("remove", err)
	}
	if removed == 1 {
		return nil
	}
	var held bool
	if err := q.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tlsmail.outbox WHERE id = $1)`, id).Scan(&held); err != nil {
		return connErr("remove", err)
	}
	if held {
		return &Error{Op: "remove", ID: id, Msg: "a runner is delivering it", Err: outbox.ErrBusy,
			Fix: "try again when the delivery is over"}
	}
	tag, err := q.pool.Exec(ctx, `DELETE FROM tlsmail.failed WHERE id = $1`, id)
	if err != nil {
		return connErr("remove", err)
	}
	if tag.RowsAffected() == 0 {
		return &Error{Op: "remove", ID: id, Msg: "no such item", Err: outbox.ErrNotFound}
	}
	return nil
}

// Walk calls fn for each queued item, oldest first, and stops at the first
// error fn returns (which Walk returns).
func (q *Queue) Walk(fn func(*outbox.Item) error) error { return q.walk(false, fn) }

// WalkFailed is Walk over the failed items.
func (q *Queue) WalkFailed(fn func(*outbox.Item) error) error { return q.walk(true, fn) }

// walk lists the items a page at a time (bounded memory, no long
// transaction) and hands them to fn.
func (q *Queue) walk(failed bool, fn func(*outbox.Item) error) error {
	const page = 1000
	after := ""
	for {
		items, last, n, err := q.page(failed, after, page)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if n < page {
			return nil
		}
		after = last
	}
}

// Where names the table that holds the part p, after the database's URL.
func (q *Queue) Where(p outbox.Part) string {
	table := string(p)
	if p == outbox.PartQueued {
		table = "outbox"
	}
	return q.Dir() + " (table tlsmail." + table + ")"
}

// Dir says where the queue is, for messages: the database's URL without
// password or parameters.
func (q *Queue) Dir() string {
	c := q.cfg.ConnConfig
	u := url.URL{Scheme: "postgres", User: url.User(c.User), Host: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), Path: "/" + c.Database}
	if strings.HasPrefix(c.Host, "/") {
		u.Host = ""
		u.RawQuery = "host=" + url.QueryEscape(c.Host)
	}
	return u.String()
}

// Shared reports true (outbox.Store.Shared): every host that can enqueue
// into the database writes items' settings, so a runner takes no secret
// source or server from them that its own configuration does not vouch
// for (submit.ItemPolicy).
func (q *Queue) Shared() bool { return true }

var _ outbox.Store = (*Queue)(nil)
