package outbox

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// List returns the queued items, oldest first, with their state. It takes
// no locks and changes nothing; a corrupt file is skipped with a warning
// (Run moves it aside).
func (q *Queue) List() ([]*Item, error) { return q.list("msg") }

// ListFailed returns the items in failed/, with their reason.
func (q *Queue) ListFailed() ([]*Item, error) { return q.list("failed") }

func (q *Queue) list(sub string) ([]*Item, error) {
	entries, err := os.ReadDir(q.sub(sub))
	if err != nil {
		return nil, &Error{Op: "list", Path: q.sub(sub), Msg: "cannot read the spool", Err: err}
	}
	var items []*Item
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), msgSuffix)
		if !ok || !validID(id) {
			continue
		}
		it, err := q.readPath(q.sub(sub, e.Name()))
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
		items = append(items, it)
	}
	return items, nil
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
