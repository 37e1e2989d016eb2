package outbox

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
)

// Store is an outbox's storage: the spool directory (*Queue, the default)
// or another implementation with the same promises, such as the
// PostgreSQL queue of package outbox/pgqueue. A Store
//
//   - holds an item durably when EnqueueData returns its ID, and shows no
//     item when it returns an error;
//   - gives an item to one runner at a time (the spool by a file lock, a
//     database by a claim with a lease), so that a message is delivered
//     twice only when a runner died between the server's 250 and the
//     removal of the item (at-least-once);
//   - in Run, hands the due items to the Deliverer in batches of equal
//     settings (Data: one connection per batch), removes an item
//     on its final 250, defers a temporary failure with the Backoff, and
//     moves a permanent failure, or an item older than the maximum age, to
//     its failed items with the reason;
//   - never holds a password or token (Data holds where to read it);
//   - says whether others than its runner can write its items (Shared):
//     a runner takes the settings of a shared store's items as untrusted
//     input (submit.ItemPolicy). The method is part of the interface, not
//     an optional one found by a type assertion, so that a type wrapping a
//     store (to count, time or log its calls) cannot drop the answer
//     without a compile error, and a runner never takes a shared store for
//     a private one (it fails closed).
//
// Items are listed, counted, looked up and removed by ID; Remove fails
// with ErrBusy while a runner holds the item and with ErrNotFound for an
// unknown ID.
type Store interface {
	EnqueueData(ctx context.Context, env Envelope, d Data, r io.Reader) (string, error)
	Run(ctx context.Context, rc RunConfig) (Stats, error)
	List() ([]*Item, error)
	ListFailed() ([]*Item, error)
	Count() (int, error)
	CountFailed() (int, error)
	Get(id string) (*Item, error)
	Remove(id string) error
	// Walk calls fn for each queued item and stops at the first error fn
	// returns (Walk returns it), keeping no item after fn returns: its
	// memory is bounded whatever the backlog.
	Walk(fn func(*Item) error) error
	// WalkFailed is Walk for the failed items.
	WalkFailed(fn func(*Item) error) error
	// Dir says where the outbox is, for messages: the spool directory, or
	// the database's URL without its password.
	Dir() string
	// Where names a part of the outbox for messages (where a user looks
	// for the failed items, say).
	Where(p Part) string
	// Shared reports whether others than the store's runner can write its
	// items: the PostgreSQL queue, where every application host that may
	// enqueue writes an item's settings (where its password comes from,
	// which server it goes to), is shared; the spool directory, its
	// user's own, is not. A wrapper of a store returns what the store it
	// wraps returns.
	Shared() bool
}

// Part is a part of an outbox that messages name (Store.Where).
type Part string

// The parts of an outbox: in the spool directory, its subdirectories; in
// a database, its tables.
const (
	PartQueued  Part = "msg"     // the items waiting for delivery
	PartFailed  Part = "failed"  // the items that failed for good
	PartCorrupt Part = "corrupt" // the items that could not be read
)

// Locate names where the item id is in the part p of q, for a person
// looking for it: its file in a spool directory (a *Queue), else the part
// as Where words it and the ID (a row of a database's table).
func Locate(q Store, p Part, id string) string {
	if sq, ok := q.(*Queue); ok {
		return filepath.Join(sq.Where(p), id+msgSuffix)
	}
	return q.Where(p) + " as " + id
}

// Notifier is a Store that can tell a waiting worker at once that an item
// was queued, by any process (PostgreSQL's LISTEN/NOTIFY). submit.Worker
// uses it when its Store has it.
type Notifier interface {
	// Listen calls wake for each item queued from now on (several items
	// may share one call) until ctx is done or the notification channel
	// fails; it returns the reason it stopped.
	Listen(ctx context.Context, wake func()) error
}

var _ Store = (*Queue)(nil)

// Shared reports false: the spool directory is its user's own (on Unix a
// run refuses a directory or item another user owns or may write), so its
// items' settings are read as they are.
func (q *Queue) Shared() bool { return false }

// NewItem makes an Item for a Store other than the spool directory: it is
// it with Data returning data (the settings as enqueued) and Open calling
// open for the content.
func NewItem(it Item, data json.RawMessage, open func() (io.ReadCloser, error)) *Item {
	n := it
	n.raw = string(data)
	n.open = open
	return &n
}
