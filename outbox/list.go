package outbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// List returns the queued items with their state. It takes no locks and
// changes nothing; a corrupt file is skipped with a warning (Run moves it
// aside). Its memory grows with the queue: for a large one use Walk.
func (q *Queue) List() ([]*Item, error) { return q.collect("msg") }

// ListFailed returns the items in failed/, with their reason.
func (q *Queue) ListFailed() ([]*Item, error) { return q.collect("failed") }

// Walk calls fn for each queued item, with its state, and stops at the
// first error fn returns (Walk returns it). It reads the directory
// scanChunk names at a time, each chunk in name order (oldest first: a
// queue that fits in one chunk is walked oldest first), and keeps no item
// after fn returns, so that its memory is bounded whatever the backlog.
// Like List, it takes no locks and changes nothing.
func (q *Queue) Walk(fn func(*Item) error) error { return q.walk("msg", fn) }

// WalkFailed is Walk for the items in failed/.
func (q *Queue) WalkFailed(fn func(*Item) error) error { return q.walk("failed", fn) }

// Count returns how many items are queued, from the names in the spool
// alone (no file is read).
func (q *Queue) Count() (int, error) { return q.count("msg") }

// CountFailed returns how many items are in failed/.
func (q *Queue) CountFailed() (int, error) { return q.count("failed") }

func (q *Queue) collect(sub string) ([]*Item, error) {
	var items []*Item
	err := q.walk(sub, func(it *Item) error {
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b *Item) int { return strings.Compare(a.ID, b.ID) })
	return items, nil
}

// names calls fn with the item IDs in sub, scanChunk names at a time, each
// chunk sorted.
func (q *Queue) names(sub string, fn func(ids []string) error) error {
	d, err := os.Open(q.sub(sub))
	if err != nil && q.opts.NoCreate && errors.Is(err, os.ErrNotExist) {
		return nil // never created: empty (Options.NoCreate)
	}
	if err != nil {
		return &Error{Op: "list", Path: q.sub(sub), Msg: "cannot read the spool", Err: err}
	}
	defer d.Close()
	chunk := q.lim.chunk()
	for {
		names, err := d.Readdirnames(chunk)
		if err != nil && err != io.EOF {
			return &Error{Op: "list", Path: q.sub(sub), Msg: "cannot read the spool", Err: err}
		}
		ids := names[:0]
		for _, n := range names {
			if id, ok := strings.CutSuffix(n, msgSuffix); ok && validID(id) {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		if len(ids) > 0 {
			if err := fn(ids); err != nil {
				return err
			}
		}
		if err == io.EOF || len(names) == 0 {
			return nil
		}
	}
}

func (q *Queue) count(sub string) (int, error) {
	n := 0
	err := q.names(sub, func(ids []string) error {
		n += len(ids)
		return nil
	})
	return n, err
}

func (q *Queue) walk(sub string, fn func(*Item) error) error {
	return q.names(sub, func(ids []string) error {
		for _, id := range ids {
			it, err := q.readPath(q.sub(sub, id+msgSuffix))
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					q.logf("outbox: warning: %v", err)
				}
				continue
			}
			st, err := readState(q.sub(sub, id+stateSuffix))
			if err != nil {
				q.logf("outbox: warning: %v", err)
			}
			it.setState(st)
			it.data = nil // a listing keeps no content in memory
			if err := fn(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// Get returns the queued or failed item with this ID.
func (q *Queue) Get(id string) (*Item, error) {
	for _, sub := range []string{"msg", "failed"} {
		p, err := q.itemPath(sub, id)
		if err != nil {
			return nil, err
		}
		it, err := q.readPath(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st, _ := readState(q.sub(sub, id+stateSuffix))
		it.setState(st)
		return it, nil
	}
	return nil, &Error{Op: "get", ID: id, Msg: "not in the queue", Err: ErrNotFound,
		Fix: "list the queue to see the IDs"}
}

func (q *Queue) itemPath(sub, id string) (string, error) {
	if !validID(id) {
		return "", &Error{Op: "remove", ID: id, Msg: fmt.Sprintf("%q is not an item ID", id), Err: ErrNotFound,
			Fix: "use an ID as the queue listing shows it"}
	}
	return q.sub(sub, id+msgSuffix), nil
}

// Remove deletes a queued or failed item. It fails with ErrBusy while a
// runner is delivering the item.
func (q *Queue) Remove(id string) error {
	for _, sub := range []string{"msg", "failed"} {
		p, err := q.itemPath(sub, id)
		if err != nil {
			return err
		}
		lf, err := openLocked(p, os.O_RDONLY)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return &Error{Op: "remove", ID: id, Path: p, Msg: "cannot open the item", Err: err}
		}
		if lf == nil {
			return &Error{Op: "remove", ID: id, Msg: "a queue runner is delivering it right now", Err: ErrBusy,
				Fix: "try again in a moment"}
		}
		if !lf.stillThere() {
			lf.unlock()
			continue
		}
		if err := removeLocked(lf, p, q.sub(sub, id+stateSuffix)); err != nil {
			return &Error{Op: "remove", ID: id, Path: p, Msg: "cannot remove the item", Err: err}
		}
		if err := syncDir(q.sub(sub)); err != nil {
			return &Error{Op: "remove", ID: id, Msg: "cannot flush the spool directory", Err: err}
		}
		return nil
	}
	return &Error{Op: "remove", ID: id, Msg: "not in the queue", Err: ErrNotFound, Fix: "list the queue to see the IDs"}
}
