package pgqueue

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
)

// opTimeout bounds the listing and removal calls, which take no context.
const opTimeout = time.Minute

// List returns the queued items, oldest first.
func (q *Queue) List() ([]*outbox.Item, error) { return q.list(false) }

// ListFailed returns the failed items, oldest first.
func (q *Queue) ListFailed() ([]*outbox.Item, error) { return q.list(true) }

func (q *Queue) list(failed bool) ([]*outbox.Item, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sql := `SELECT ` + itemCols + ` FROM tlsmail.outbox ORDER BY id`
	if failed {
		sql = `SELECT ` + failedItemCols + ` FROM tlsmail.failed ORDER BY id`
	}
	rows, err := q.pool.Query(ctx, sql)
	if err != nil {
		return nil, connErr("list", err)
	}
	defer rows.Close()
	var items []*outbox.Item
	for rows.Next() {
		var it *outbox.Item
		if failed {
			var at time.Time
			var reason string
			var perm bool
			it, err = q.scanItem(rows, &at, &reason, &perm)
			if it != nil {
				it.FailedAt, it.Reason, it.Permanent, it.NextAttempt = at, reason, perm, time.Time{}
			}
		} else {
			it, err = q.scanItem(rows)
		}
		if err != nil {
			return nil, connErr("list", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, connErr("list", err)
	}
	return items, nil
}

// failedItemCols are itemCols for the failed table, which has no next
// attempt, and the failure's columns.
const failedItemCols = `id, created, envelope, settings, size, attempts, last_attempt, last_error, failed_at, failed_at, reason, permanent`

// Count returns how many items are queued.
func (q *Queue) Count() (int, error) { return q.count(`SELECT count(*) FROM tlsmail.outbox`) }

// CountFailed returns how many items failed.
func (q *Queue) CountFailed() (int, error) { return q.count(`SELECT count(*) FROM tlsmail.failed`) }

func (q *Queue) count(sql string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var n int
	if err := q.pool.QueryRow(ctx, sql).Scan(&n); err != nil {
		return 0, connErr("list", err)
	}
	return n, nil
}

// Get returns the queued or failed item with this ID.
func (q *Queue) Get(id string) (*outbox.Item, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	it, err := q.scanItem(q.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM tlsmail.outbox WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		var at time.Time
		var reason string
		var perm bool
		it, err = q.scanItem(q.pool.QueryRow(ctx, `SELECT `+failedItemCols+` FROM tlsmail.failed WHERE id = $1`, id), &at, &reason, &perm)
		if it != nil {
			it.FailedAt, it.Reason, it.Permanent, it.NextAttempt = at, reason, perm, time.Time{}
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &Error{Op: "get", ID: id, Msg: "no such item", Err: outbox.ErrNotFound}
	}
	if err != nil {
		return nil, connErr("get", err)
	}
	return it, nil
}

// Remove deletes a queued or failed item; ErrBusy while a runner's lease
// on it lasts.
func (q *Queue) Remove(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	tag, err := q.pool.Exec(ctx, `DELETE FROM tlsmail.outbox WHERE id = $1
		AND (lease_until IS NULL OR lease_until < clock_timestamp())`, id)
	if err != nil {
		return connErr("remove", err)
	}
	if tag.RowsAffected() == 1 {
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
	tag, err = q.pool.Exec(ctx, `DELETE FROM tlsmail.failed WHERE id = $1`, id)
	if err != nil {
		return connErr("remove", err)
	}
	if tag.RowsAffected() == 0 {
		return &Error{Op: "remove", ID: id, Msg: "no such item", Err: outbox.ErrNotFound}
	}
	return nil
}
