package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome classifies one delivery attempt.
type Outcome int

const (
	// Delivered: the server accepted the message (250 after DATA); the
	// item is removed.
	Delivered Outcome = iota + 1
	// Temporary: try again later (4xx replies, network errors, timeouts,
	// TLS and certificate failures). The item stays, with its attempt
	// count, last error and next attempt time, until it expires.
	Temporary
	// Permanent: the server refused the message for good (5xx); the item
	// moves to failed/ at once.
	Permanent
	// Corrupt: the item's file turned out damaged during delivery (its
	// content does not match its checksum) and was moved to corrupt/;
	// nothing was sent. Run sets it for OnResult when the deliverer
	// reports a *CorruptError; a deliverer never returns it itself.
	Corrupt
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Corrupt:
		return "corrupt"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result is the outcome of delivering one item, filled by the deliverer.
type Result struct {
	Outcome Outcome
	// Err is the reason for a Temporary or Permanent outcome. Its text is
	// stored as the item's last error (it must hold no secret).
	Err error
	// Recipients, for a Permanent outcome, are the recipients the failure
	// concerns when it concerns only some of the item's (the server took
	// the message for the others): the failed item's envelope then names
	// only these (see NarrowRecipients), so that moving it back into the
	// queue never sends the message to the others again. Nil means all.
	Recipients []string
}

// Classify makes a Result from a delivery error: nil is Delivered; an error
// that has (anywhere in its chain) a method Temporary() bool returning
// false is Permanent; so is a stored item found damaged (ErrDamaged:
// trying again reads the same, so it goes to the failed items with the
// reason at once, not after every attempt until it expires); everything
// else is Temporary, so that an unexpected error keeps the message until
// it expires rather than dropping it.
func Classify(err error) Result {
	if err == nil {
		return Result{Outcome: Delivered}
	}
	if errors.Is(err, ErrDamaged) {
		return Result{Outcome: Permanent, Err: err}
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && !t.Temporary() {
		return Result{Outcome: Permanent, Err: err}
	}
	return Result{Outcome: Temporary, Err: err}
}

// Backoff spaces retries: the n-th retry waits Initial*2^(n-1), at most
// Max, shortened by a random fraction up to Jitter so that many items
// deferred together do not all come back at the same moment.
type Backoff struct {
	Initial time.Duration // default 1 minute
	Max     time.Duration // default 1 hour
	Jitter  float64       // 0 to 1; default 0.2
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Minute
	}
	if b.Max <= 0 {
		b.Max = time.Hour
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Jitter <= 0 || b.Jitter > 1 {
		b.Jitter = 0.2
	}
	return b
}

// Delay returns the wait after the attempts-th failed attempt; u in [0,1)
// is the random draw (u = 0 gives the full delay).
func (b Backoff) Delay(attempts int, u float64) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if u < 0 {
		u = 0
	} else if u >= 1 {
		u = 0.999999
	}
	return d - time.Duration(float64(d)*b.Jitter*u)
}

// Deliverer sends a batch of items that share the same settings, typically
// over one connection (RSET between messages). It calls report once for
// each item it attempted, as soon as the outcome is known, so that an item
// accepted by the server is removed at once. report is safe to call from
// several goroutines. Items left unreported are untouched if Deliver returns
// nil or the run's context is done, and count as a Temporary failure with
// the returned error otherwise (a connection that could not be made).
type Deliverer func(ctx context.Context, batch []*Item, report func(*Item, Result)) error

// RunConfig configures Run.
type RunConfig struct {
	// Deliver sends the batches; required.
	Deliver Deliverer
	// Parallel is how many batches are delivered at once (default 1).
	// A group large enough to share is split into up to Parallel batches
	// (of at least MinBatch items each), so that the messages for one
	// server go over several connections at once.
	Parallel int
	// BatchSize caps the items per batch (default 100); a larger group is
	// split into several batches.
	BatchSize int
	// MinBatch is the fewest items a group is split into when it is
	// spread over parallel batches (default 16): each batch costs a
	// connection, worth it only for enough messages.
	MinBatch int
	// Force delivers every item now, ignoring next attempt times (flush).
	Force bool
	// Now is the clock; nil means the Queue's clock.
	Now func() time.Time
	// Rand draws the backoff jitter in [0,1); nil means math/rand/v2.
	Rand func() float64
	// OnResult, if set, is called after each item's bookkeeping with the
	// item (its state updated) and the result.
	OnResult func(it *Item, r Result)
	// IDs, when non-empty, limits the run to these items: the others are
	// neither read nor locked (sendmail delivering its own message at once).
	IDs []string
}

// Stats sums up a Run.
type Stats struct {
	Delivered int `json:"delivered"`
	Deferred  int `json:"deferred"`
	// Failed counts items moved to failed/, Expired those of them that
	// expired rather than failed permanently.
	Failed  int `json:"failed"`
	Expired int `json:"expired"`
	// Busy counts items another runner was delivering; NotDue items whose
	// next attempt is later; Corrupt files moved to corrupt/.
	Busy    int `json:"busy"`
	NotDue  int `json:"not_due"`
	Corrupt int `json:"corrupt"`
	// Stuck counts items skipped because they could not be removed once
	// delivered (an immutable or read-only file).
	Stuck int `json:"stuck,omitempty"`
	// Next is the earliest next attempt among the items left; zero when no
	// item waits.
	Next time.Time `json:"next,omitzero"`
}

// Summary says what a run did in one line, for a person: "3 delivered,
// 1 deferred, 0 failed", then the items not due (with the next attempt
// time), busy, corrupt and stuck, when there are any. where names the
// part of the outbox corrupt items were moved to (Store.Where).
func (s Stats) Summary(where func(Part) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d delivered, %d deferred, %d failed", s.Delivered, s.Deferred, s.Failed)
	if s.NotDue > 0 {
		fmt.Fprintf(&b, ", %d not due yet (next at %s)", s.NotDue, s.Next.Local().Format(time.DateTime))
	}
	if s.Busy > 0 {
		fmt.Fprintf(&b, ", %d being delivered by another run", s.Busy)
	}
	if s.Corrupt > 0 {
		fmt.Fprintf(&b, ", %d corrupt file(s) moved to %s", s.Corrupt, where(PartCorrupt))
	}
	if s.Stuck > 0 {
		fmt.Fprintf(&b, ", %d skipped (cannot be removed once delivered)", s.Stuck)
	}
	return b.String()
}

func (s *Stats) noteNext(t time.Time) {
	if !t.IsZero() && (s.Next.IsZero() || t.Before(s.Next)) {
		s.Next = t
	}
}

type runner struct {
	q     *Queue
	rc    RunConfig
	mu    sync.Mutex // guards stats and dirty
	stats Stats
	dirty map[string]bool // directories to fsync
	// held counts the item files this run holds open and locked; the
	// scan takes items itself only while it is below maxHeld (open file
	// limit), else it leaves the locking to the batch.
	held    atomic.Int64
	maxHeld int64

	// Used by the scan goroutine only. When the spool is small enough
	// (relist), the scan checks the items it took with one listing of
	// msg/ per batch instead of two lookups per item: see confirm.
	relist   bool
	seq      int             // items taken so far
	listSeq  int             // items taken before the last listing
	names    map[string]bool // that listing
	scratch  [headRead]byte  // the first read of each item file
	settings settingsCache
}

func (r *runner) now() time.Time {
	if r.rc.Now != nil {
		return r.rc.Now()
	}
	return r.q.now()
}

// next is when an item in state st is due. Run never writes a next
// attempt later than now plus the longest backoff, so a later one was
// written under a clock that was wrong (or by hand): it is not trusted,
// and the item is due now. Its next attempt is then computed afresh.
func (r *runner) next(st state, now time.Time) time.Time {
	if st.NextAttempt.After(now.Add(r.q.opts.Backoff.withDefaults().Max)) {
		return time.Time{}
	}
	return st.NextAttempt
}

// age is how long an item has been queued: since its creation time. A
// creation time in the future was written under a clock that was wrong;
// the item is then aged by its failed attempts instead, as the shortest
// time the backoff lets them take, so that it still expires.
func (r *runner) age(it *Item, now time.Time) time.Duration {
	if !it.Created.After(now) {
		return now.Sub(it.Created)
	}
	var d time.Duration
	for i := 1; i < it.Attempts && d < r.q.opts.MaxAge; i++ {
		d += r.q.opts.Backoff.Delay(i, 1)
	}
	return d
}

func (r *runner) rand() float64 {
	if r.rc.Rand != nil {
		return r.rc.Rand()
	}
	return rand.Float64()
}

func (r *runner) count(f func(s *Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

func (r *runner) markDirty(dirs ...string) {
	r.mu.Lock()
	for _, d := range dirs {
		r.dirty[d] = true
	}
	r.mu.Unlock()
}

// Run delivers the items that are due (all of them with Force), grouped by
// settings into batches for rc.Deliver, and records each result: delivered
// items are removed, temporary failures rescheduled (or moved to failed/
// once older than the maximum age), permanent failures moved to failed/.
// Corrupt files are moved to corrupt/ with a warning. Items another runner
// holds are skipped. Run returns when every batch is done or ctx is done.
//
// Run refuses to start on a spool others could write to (ErrUnsafeSpool,
// see the package documentation) and delivers nothing from one whose msg/
// it cannot write (ErrReadOnly): a delivered item that cannot be removed
// would be sent again by every run. Its memory is bounded whatever the
// backlog: it reads the spool a chunk of names at a time (see scan).
func (q *Queue) Run(ctx context.Context, rc RunConfig) (Stats, error) {
	if rc.Deliver == nil {
		return Stats{}, &Error{Op: "run", Msg: "no deliverer given"}
	}
	if rc.Parallel < 1 {
		rc.Parallel = 1
	}
	if rc.BatchSize < 1 {
		rc.BatchSize = 100
	}
	if rc.MinBatch < 1 {
		rc.MinBatch = 16
	}
	// Items name commands to run and files to read: nothing is read from
	// a spool another user could have written to.
	if err := q.checkDirs(); err != nil {
		return Stats{}, err
	}
	// A delivered item that cannot be removed is sent again by every
	// later run: deliver nothing from a spool whose msg/ is read-only.
	if err := dirWritable(q.sub("msg")); err != nil {
		return Stats{}, &Error{Op: "run", Path: q.sub("msg"), Err: ErrReadOnly,
			Msg: fmt.Sprintf("delivered messages could not be removed from %s (%v), so every run would send them again; nothing was sent", q.sub("msg"), err),
			Fix: "make the spool directory writable by this user (chmod u+w, or remount it read-write), then run the queue again"}
	}
	r := &runner{q: q, rc: rc, dirty: map[string]bool{}, maxHeld: maxHeldFiles()}
	if q.lim.maxHeld != 0 {
		r.maxHeld = q.lim.maxHeld
	}
	q.cleanTmp()
	// The scan hands out each batch as soon as it is complete, so the
	// first connections start while the rest of the spool is read.
	work := make(chan []*Item)
	var wg sync.WaitGroup
	for range rc.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				r.batch(ctx, b)
			}
		}()
	}
	err := r.scan(func(b []*Item) bool {
		select {
		case work <- b:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(work)
	wg.Wait()
	if err != nil {
		return r.stats, err
	}
	r.syncDirty()
	if err := ctx.Err(); err != nil {
		return r.stats, err
	}
	return r.stats, nil
}

// scanChunk is how many directory entries the scan reads at a time: a
// run holds one chunk of names, the items of the batches being filled
// (at most partialWindow) and those being delivered, whatever the size of
// the backlog.
const scanChunk = 4096

// partialWindow is how many items the scan holds at most in batches not
// yet full: past it, the largest is handed out as it is. It is at least a
// batch.
func (r *runner) partialWindow() int {
	if r.q.lim.window > 0 {
		return r.q.lim.window
	}
	return max(r.rc.BatchSize, 1024)
}

// maxGroups bounds the settings groups the scan remembers.
const maxGroups = 4096

// group is the items of one grouping key the scan has not handed out.
type group struct {
	items   []*Item
	emitted bool // some of the group was handed out already
	seq     int  // first seen: groups are split in this order at the end
}

// scan reads msg/ and hands the due items, grouped and split into
// batches, to emit; it stops early when emit returns false. It reads the
// directory in chunks of scanChunk entries, each sorted by name (oldest
// first: a spool that fits in one chunk is taken oldest first), and keeps
// no per-item record beyond the chunk and the batches being filled, so
// that its memory is bounded whatever the backlog.
//
// A spool that fits in one chunk is known whole: a group is cut into
// batches of the size split would give if every due item were in it, each
// emitted as soon as it is full, and the rest of each group is split at
// the end. A larger one is cut into batches of rc.BatchSize, and when the
// batches being filled hold partialWindow items the largest goes out.
func (r *runner) scan(emit func([]*Item) bool) error {
	q := r.q
	dir := q.sub("msg")
	d, err := os.Open(dir)
	if err != nil {
		return &Error{Op: "run", Path: dir, Msg: "cannot read the spool", Err: err}
	}
	defer d.Close()
	chunk := q.lim.chunk()
	readChunk := func() ([]string, error) {
		names, err := d.Readdirnames(chunk)
		if err == io.EOF {
			err = nil
		}
		sort.Strings(names)
		return names, err
	}
	names, err := readChunk()
	if err != nil {
		return &Error{Op: "run", Path: dir, Msg: "cannot read the spool", Err: err}
	}
	// One look ahead tells whether the first chunk is the whole spool.
	ahead, err := readChunk()
	if err != nil {
		return &Error{Op: "run", Path: dir, Msg: "cannot read the spool", Err: err}
	}
	whole := len(ahead) == 0
	r.settings = settingsCache{}

	groups := map[string]*group{}
	seq, held := 0, 0
	var full int // batch size to emit at, once known
	emit0 := emit
	emit = func(b []*Item) bool {
		if b = r.confirm(b); len(b) == 0 {
			return true
		}
		if !emit0(b) {
			r.release(b)
			return false
		}
		return true
	}
	// Items the scan holds are released if it stops early; a batch that
	// was handed out releases its own.
	defer func() {
		for _, g := range groups {
			r.release(g.items)
		}
	}()
	// flush hands out g's items as a batch.
	flush := func(g *group) bool {
		b := g.items
		held -= len(b)
		g.items, g.emitted = nil, true
		return emit(b[:len(b):len(b)])
	}
	for len(names) > 0 {
		due := r.dueNames(names, whole)
		if full == 0 {
			full = r.rc.BatchSize
			if whole {
				// Relisting msg/ for a batch is cheaper than a stat and a
				// state lookup for each of its items while the directory
				// holds a few entries per item of a batch (not so for
				// sendmail's one item in a long queue).
				r.relist = len(names) <= relistFactor*min(r.rc.BatchSize, max(len(due), 1)) && !q.lim.noRelist
				full = len(due)
				if n := batchCount(len(due), r.rc.BatchSize, r.rc.MinBatch, r.rc.Parallel); n > 0 {
					full = (len(due) + n - 1) / n
				}
			}
		}
		for _, d := range due {
			it := r.take(d.name, d.st)
			if it == nil {
				continue
			}
			k := it.raw // the settings: one connection for equal settings
			g := groups[k]
			if g == nil {
				if len(groups) >= maxGroups {
					// Forget the groups with nothing held: only the split
					// of their last items (how parallel) depends on them.
					for k, g := range groups {
						if len(g.items) == 0 {
							delete(groups, k)
						}
					}
				}
				g = &group{seq: seq}
				seq++
				groups[k] = g
			}
			g.items = append(g.items, it)
			held++
			if len(g.items) >= full {
				if !flush(g) {
					return nil
				}
			} else if held > r.partialWindow() {
				var big *group
				for _, g := range groups {
					if big == nil || len(g.items) > len(big.items) {
						big = g
					}
				}
				if !flush(big) {
					return nil
				}
			}
		}
		names, ahead = ahead, nil
		if len(names) == 0 && !whole {
			if names, err = readChunk(); err != nil {
				return &Error{Op: "run", Path: dir, Msg: "cannot read the spool", Err: err}
			}
		}
	}
	order := make([]*group, 0, len(groups))
	for _, g := range groups {
		if len(g.items) > 0 {
			order = append(order, g)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].seq < order[j].seq })
	for _, g := range order {
		parallel := r.rc.Parallel
		if g.emitted {
			parallel = 1 // the rest of a group already under way
		}
		bs := split(g.items, r.rc.BatchSize, r.rc.MinBatch, parallel)
		g.items = nil
		for i, b := range bs {
			if !emit(b) {
				for _, b := range bs[i+1:] {
					r.release(b)
				}
				return nil
			}
		}
	}
	return nil
}

// dueItem is an item file name of a chunk the scan will take, with the
// state it found for it (zero when it did not look).
type dueItem struct {
	name string
	st   state
}

// dueNames picks the item files of a sorted chunk of msg/ names that are
// due. A state file listed in the same chunk is read (it may say the item
// is not due); an item whose state is listed in another chunk is taken
// and its state read under the lock (take, confirm). A state file whose
// item is gone (a crash between removing the two) is removed.
func (r *runner) dueNames(names []string, whole bool) []dueItem {
	q := r.q
	now := r.now()
	inChunk := func(name string) bool {
		i := sort.SearchStrings(names, name)
		return i < len(names) && names[i] == name
	}
	var due []dueItem
	for _, name := range names {
		if id, ok := strings.CutSuffix(name, stateSuffix); ok {
			if validID(id) && !inChunk(id+msgSuffix) {
				if whole {
					os.Remove(q.sub("msg", name))
				} else if _, err := os.Lstat(q.sub("msg", id+msgSuffix)); errors.Is(err, os.ErrNotExist) {
					os.Remove(q.sub("msg", name))
				}
			}
			continue
		}
		id, ok := strings.CutSuffix(name, msgSuffix)
		if !ok || !validID(id) {
			continue
		}
		if len(r.rc.IDs) > 0 && !slices.Contains(r.rc.IDs, id) {
			continue
		}
		var st state
		if inChunk(id + stateSuffix) {
			// A fresh item has no state file: no need to look for one
			// (it is read again under the lock).
			st, _ = q.loadState(id)
		}
		if next := r.next(st, now); !r.rc.Force && next.After(now) {
			r.count(func(s *Stats) { s.NotDue++; s.noteNext(next) })
			continue
		}
		due = append(due, dueItem{name: name, st: st})
	}
	return due
}

// take reads the due item file name for a batch. While the run holds
// fewer than maxHeld files, it opens the file once and keeps it: it locks
// it (skipping an item another runner holds), checks that the name still
// names it (another runner may have removed or moved it since the
// listing), reads it (one read for a small message) and reads its state
// again under the lock (another runner may have deferred it since). The
// batch then has nothing left to do before delivery, and settle removes
// the file through the same descriptor. Past maxHeld, it reads the file
// without a lock and the batch locks it. It returns nil for an item to
// skip.
func (r *runner) take(name string, st state) *Item {
	q := r.q
	path := q.sub("msg", name)
	if r.held.Load() >= r.maxHeld {
		it, err := q.readPath(path)
		if err != nil {
			var ce *CorruptError
			if errors.As(err, &ce) {
				r.corrupt(path, ce)
			}
			// Gone (delivered by another runner) or unreadable: skip.
			return nil
		}
		it.setState(st)
		return it
	}
	lf := r.lock(path)
	if lf == nil {
		return nil
	}
	if r.relist {
		// One read; the checks under the lock (still there, state) are
		// made for the whole batch by confirm.
		it, err := readItemFile(lf.ro, path, &r.scratch, r.settings)
		if err != nil {
			r.unreadable(lf, path, err)
			return nil
		}
		it.lf = lf
		it.unconfirmed = true
		it.seq = r.seq
		r.seq++
		r.held.Add(1)
		return it
	}
	// The name still there now that we hold the lock names the file we
	// opened (see admit); its size tells how to read it.
	fid, size, err := statID(path)
	if err != nil {
		lf.unlock()
		return nil
	}
	it, err := readItem(lf.ro, size, path, nil, r.settings)
	if err != nil {
		r.unreadable(lf, path, err)
		return nil
	}
	it.fid = fid
	if !r.admit(it, lf, true, false) {
		return nil
	}
	return it
}

// lock locks the item file at path for delivery. It returns nil for an
// item to skip: gone (another runner finished it), refused unread (moved
// aside, see refused), or held by another runner (counted Busy).
func (r *runner) lock(path string) *lockedFile {
	lf, err := lockItem(path, r.q.hook)
	if err != nil {
		r.refused(path, err)
		return nil
	}
	if lf == nil {
		r.count(func(s *Stats) { s.Busy++ })
		return nil
	}
	return lf
}

// admit makes the checks under the lock lf that every way of taking an
// item for delivery ends with (take, confirm, batch), and holds the item
// if they pass. named says whether the item's name in msg/ still names the
// file the run read: a name is given to one file only, once (Enqueue
// renames each new item to a fresh ID, and nothing moves a file back), so
// an item whose name is gone was delivered, failed or moved aside by
// another runner since it was listed. Its state is then read again, as
// another runner may have deferred it (noState: there is certainly no
// state file, and none can appear while the lock is held). An item due now
// (or any with Force) is held: it.lf is lf, counted in r.held, and admit
// returns true. Otherwise the lock is released and admit returns false.
func (r *runner) admit(it *Item, lf *lockedFile, named, noState bool) bool {
	if !named {
		lf.unlock()
		return false
	}
	st, found := state{}, false
	if !noState {
		st, found = r.q.loadState(it.ID)
		now := r.now()
		if next := r.next(st, now); !r.rc.Force && next.After(now) {
			lf.unlock()
			r.count(func(s *Stats) { s.NotDue++; s.noteNext(next) })
			return false
		}
	}
	it.setState(st)
	it.lf = lf
	it.noState = !found
	r.held.Add(1)
	return true
}

// relistFactor bounds the directory entries per batch item for which
// confirm lists msg/ again rather than looking up each item.
const relistFactor = 8

// confirm makes the checks under the lock (admit) for the items the scan
// took without them (unconfirmed): it lists msg/ once, after every such
// item of the batch is locked, and that listing says whether each name is
// still there and whether the item has a state file to read. It returns
// the items to deliver (b, compacted).
func (r *runner) confirm(b []*Item) []*Item {
	need := false
	for _, it := range b {
		if it.unconfirmed && it.seq >= r.listSeq {
			need = true
			break
		}
	}
	if need {
		names, err := readNames(r.q.sub("msg"))
		if err != nil {
			names = nil // check each item by itself below
		}
		r.names, r.listSeq = names, r.seq
	}
	out := b[:0]
	for _, it := range b {
		if !it.unconfirmed {
			out = append(out, it)
			continue
		}
		it.unconfirmed = false
		var named, hasState bool
		if r.names != nil {
			named, hasState = r.names[it.ID+msgSuffix], r.names[it.ID+stateSuffix]
		} else {
			_, _, err := statID(it.path)
			named, hasState = err == nil, true
		}
		// admit holds it again, or lets it go.
		lf := it.lf
		it.lf = nil
		r.held.Add(-1)
		if r.admit(it, lf, named, !hasState) {
			out = append(out, it)
		}
	}
	return out
}

// readNames lists the names in dir.
func readNames(dir string) (map[string]bool, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	list, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(list))
	for _, n := range list {
		names[n] = true
	}
	return names, nil
}

// release unlocks the items of a batch that will not be delivered.
func (r *runner) release(batch []*Item) {
	for _, it := range batch {
		if it.lf != nil {
			it.lf.unlock()
			it.lf = nil
			r.held.Add(-1)
		}
	}
}

// split cuts a group into batches of at most size items, oldest first.
// When that leaves fewer batches than parallel, the group is spread over
// up to parallel batches of at least minBatch items, of near-equal sizes.
func split(g []*Item, size, minBatch, parallel int) [][]*Item {
	if len(g) == 0 {
		return nil
	}
	n := batchCount(len(g), size, minBatch, parallel)
	batches := make([][]*Item, 0, n)
	for i := range n {
		lo, hi := len(g)*i/n, len(g)*(i+1)/n
		batches = append(batches, g[lo:hi:hi])
	}
	return batches
}

// batchCount is how many batches split makes of items items.
func batchCount(items, size, minBatch, parallel int) int {
	n := (items + size - 1) / size
	if n < parallel {
		n = max(n, min(parallel, items/minBatch))
	}
	return n
}

// readPath reads the item file at path (open, stat, one read for a small
// file, close).
func (q *Queue) readPath(path string) (*Item, error) {
	f, err := openRO(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, fid, err := f.stat()
	if err != nil {
		return nil, err
	}
	it, err := readItem(f, size, path, nil, nil)
	if err != nil {
		return nil, err
	}
	it.fid = fid
	return it, nil
}

// readItemFile reads the item file open as f with one read for a small
// file: a read of a regular file that returns less than asked for has
// reached the end, so the bytes are the whole file. Only if they do not
// parse as an item (its trailer records the content's size) is the file
// measured and read again before it is called corrupt; a larger file is
// measured.
func readItemFile(f *roFile, path string, scratch *[headRead]byte, sc settingsCache) (*Item, error) {
	n, err := f.readOnce(scratch[:], 0)
	// The item keeps a small file's bytes: copy them to a buffer of their
	// size (a fresh headRead buffer per item costs page faults and GC).
	head := bytes.Clone(scratch[:n])
	if err == nil && n < len(scratch) {
		if it, err := readItem(f, int64(n), path, head, sc); err == nil {
			return it, nil
		}
	} else if err != nil {
		return nil, err
	}
	size, _, err := f.stat()
	if err != nil {
		return nil, err
	}
	if n == len(scratch) {
		return readItem(f, size, path, head, sc)
	}
	return readItem(f, size, path, nil, sc)
}

// loadState reads an item's state; a corrupt state file is moved aside and
// the item starts afresh (it is then tried at once, which is safe). found
// is false when there is certainly no state file left.
func (q *Queue) loadState(id string) (st state, found bool) {
	p := q.sub("msg", id+stateSuffix)
	st, found, err := readStateFound(p)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			q.logf("outbox: warning: %v; moved to %s, the item will be retried now", ce, q.sub("corrupt"))
			q.moveAside(p)
			return state{}, false
		}
		return state{}, true // unreadable: it may be there
	}
	return st, found
}

// corrupt moves a damaged message file aside, unless a runner holds it.
// unreadable lets go of an item that could not be read; a corrupt one is
// moved aside (r.corrupt), any other error leaves it for a later run.
func (r *runner) unreadable(lf *lockedFile, path string, err error) {
	lf.unlock()
	var ce *CorruptError
	if errors.As(err, &ce) {
		r.corrupt(path, ce)
	}
}

// refused moves aside an item file openRO refused unread (see
// CorruptError.Unsafe); other errors (the file is gone) are ignored.
func (r *runner) refused(path string, err error) {
	var ce *CorruptError
	if errors.As(err, &ce) {
		r.corrupt(path, ce)
	}
}

func (r *runner) corrupt(path string, ce *CorruptError) {
	if ce.Unsafe {
		// Not opened, not locked: moved aside by name (a link is moved,
		// not followed), with its state file.
		r.q.logf("outbox: warning: %v; moved to %s", ce, r.q.sub("corrupt"))
		id := strings.TrimSuffix(pathBase(path), msgSuffix)
		r.q.moveAside(r.q.sub("msg", id+stateSuffix))
		if err := os.Rename(path, r.q.asidePath(pathBase(path))); err == nil {
			r.count(func(s *Stats) { s.Corrupt++ })
			r.markDirty(r.q.sub("msg"), r.q.sub("corrupt"))
		}
		return
	}
	lf, err := openLocked(path, os.O_RDONLY)
	if err != nil || lf == nil {
		return
	}
	defer lf.unlock()
	if !lf.stillThere() {
		return
	}
	r.q.logf("outbox: warning: %v; moved to %s", ce, r.q.sub("corrupt"))
	id := strings.TrimSuffix(pathBase(path), msgSuffix)
	r.q.moveAside(r.q.sub("msg", id+stateSuffix))
	if err := renameLocked(lf, r.q.asidePath(pathBase(path))); err == nil {
		r.count(func(s *Stats) { s.Corrupt++ })
		r.markDirty(r.q.sub("msg"), r.q.sub("corrupt"))
	}
}

func pathBase(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// asidePath is a free name in corrupt/ for a file called name.
func (q *Queue) asidePath(name string) string {
	p := q.sub("corrupt", name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
		p = q.sub("corrupt", fmt.Sprintf("%s.%d", name, i))
	}
}

func (q *Queue) moveAside(path string) {
	if _, err := os.Lstat(path); err == nil {
		os.Rename(path, q.asidePath(pathBase(path)))
	}
}

// batch locks the items of one batch, hands them to the deliverer and
// settles the results.
func (r *runner) batch(ctx context.Context, batch []*Item) {
	q := r.q
	held := make([]*Item, 0, len(batch))
	for _, it := range batch {
		if it.lf != nil {
			held = append(held, it) // taken by the scan
			continue
		}
		lf := r.lock(it.path)
		if lf == nil {
			continue
		}
		// The path must still name the file the scan read (unlocked, past
		// maxHeld): if so, the file we hold is that one, and the scan's
		// reading of it is still good.
		fid, _, err := statID(it.path)
		if r.admit(it, lf, err == nil && sameFile(fid, it.fid), false) {
			held = append(held, it)
		}
	}
	// Each item must be removable once delivered (see itemRemovable).
	ok := held[:0]
	for _, it := range held {
		if err := itemRemovable(it.path); err != nil {
			q.logf("outbox: warning: item %s is skipped: it could not be removed once delivered (%v), so it would be sent again by every run", it.ID, err)
			r.release([]*Item{it})
			r.count(func(s *Stats) { s.Stuck++ })
			continue
		}
		ok = append(ok, it)
	}
	held = ok
	if len(held) == 0 {
		return
	}
	var mu sync.Mutex
	report := func(it *Item, res Result) {
		mu.Lock()
		defer mu.Unlock()
		if it == nil || it.lf == nil {
			return // not held by this batch, or reported already
		}
		r.settle(it, res)
		r.held.Add(-1)
	}
	err := r.rc.Deliver(ctx, held, report)
	mu.Lock()
	defer mu.Unlock()
	for _, it := range held {
		if it.lf == nil {
			continue
		}
		if err != nil && ctx.Err() == nil {
			r.settle(it, Result{Outcome: Temporary, Err: err})
		} else {
			it.lf.unlock()
			it.lf = nil
		}
		r.held.Add(-1)
	}
}

// settle records one result; the item's lock is released.
func (r *runner) settle(it *Item, res Result) {
	q := r.q
	now := r.now()
	msgPath := q.sub("msg", it.ID+msgSuffix)
	statePath := q.sub("msg", it.ID+stateSuffix)
	lf := it.lf
	it.lf = nil
	reason := ""
	if res.Err != nil {
		reason = res.Err.Error()
	}
	var ce *CorruptError
	switch {
	case res.Err != nil && errors.As(res.Err, &ce):
		// One outcome, reported once: moved aside, not deferred.
		res.Outcome = Corrupt
		q.logf("outbox: warning: %v; moved to %s", ce, q.sub("corrupt"))
		q.moveAside(statePath)
		if renameLocked(lf, q.asidePath(it.ID+msgSuffix)) == nil {
			r.count(func(s *Stats) { s.Corrupt++ })
		}
		lf.unlock()
		r.markDirty(q.sub("msg"), q.sub("corrupt"))
	case res.Outcome == Delivered:
		paths := []string{msgPath, statePath}
		if it.noState {
			// No state file when the lock was taken, and only the lock
			// holder writes one.
			paths = paths[:1]
		}
		if err := removeLocked(lf, paths...); err != nil {
			q.logf("outbox: warning: item %s was delivered but cannot be removed (%v); it may be sent again", it.ID, err)
		}
		r.count(func(s *Stats) { s.Delivered++ })
		r.markDirty(q.sub("msg"))
	case res.Outcome == Permanent:
		if reason == "" {
			reason = "permanent failure"
		}
		var old *lockedFile // Windows: the file narrow could not replace
		if to := NarrowRecipients(it.Envelope.To, res.Recipients); to != nil {
			// The others have the message: the failed item names only
			// the recipients it failed for, so that moving it back to
			// the queue never sends it to the others again.
			n := len(it.Envelope.To)
			if nlf, o, err := q.narrow(lf, it, to); err != nil {
				q.logf("outbox: warning: cannot narrow failed item %s to its %d failed recipient(s) (%v); it keeps all %d", it.ID, len(to), err, n)
			} else {
				lf, old = nlf, o
			}
		}
		r.fail(it, lf, now, reason, true)
		if old != nil {
			if it.path == q.sub("failed", it.ID+msgSuffix) {
				removeLocked(old, old.path)
			} else {
				old.unlock()
			}
		}
	default: // Temporary, and anything the deliverer left unclassified
		if reason == "" {
			reason = "temporary failure"
		}
		it.Attempts++
		it.LastAttempt = now
		it.LastError = reason
		if age := r.age(it, now); age >= q.opts.MaxAge {
			r.fail(it, lf, now, fmt.Sprintf("expired after %s in the queue (%d attempts); last error: %s",
				roundAge(age), it.Attempts, reason), false)
			break
		}
		it.NextAttempt = now.Add(q.opts.Backoff.Delay(it.Attempts, r.rand()))
		if err := q.writeState(statePath, it.state()); err != nil {
			q.logf("outbox: warning: cannot record the attempt on item %s: %v", it.ID, err)
		}
		lf.unlock()
		r.count(func(s *Stats) { s.Deferred++; s.noteNext(it.NextAttempt) })
	}
	if r.rc.OnResult != nil {
		r.rc.OnResult(it, res)
	}
}

func roundAge(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

// fail moves an item to failed/ with the reason.
func (r *runner) fail(it *Item, lf *lockedFile, now time.Time, reason string, permanent bool) {
	q := r.q
	it.FailedAt, it.Reason, it.Permanent = now, reason, permanent
	it.NextAttempt = time.Time{}
	// State first: a crash after it leaves the item queued (retried),
	// never failed without its reason.
	if err := q.writeState(q.sub("failed", it.ID+stateSuffix), it.state()); err != nil {
		q.logf("outbox: warning: cannot record the failure of item %s: %v", it.ID, err)
	}
	if err := renameLocked(lf, q.sub("failed", it.ID+msgSuffix)); err != nil {
		q.logf("outbox: warning: cannot move item %s to failed/: %v", it.ID, err)
		lf.unlock()
		return
	}
	os.Remove(q.sub("msg", it.ID+stateSuffix))
	lf.unlock()
	it.path = q.sub("failed", it.ID+msgSuffix)
	r.count(func(s *Stats) {
		s.Failed++
		if !permanent {
			s.Expired++
		}
	})
	r.markDirty(q.sub("msg"), q.sub("failed"))
}

// writeState replaces a state file atomically (temporary file, fsync,
// rename). The directory is fsynced later, once per batch.
func (q *Queue) writeState(path string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := q.sub("tmp", pathBase(path)+"."+newID(time.Now())+".tmp")
	f, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func (r *runner) syncDirty() {
	dirs := make([]string, 0, len(r.dirty))
	for d := range r.dirty {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			r.q.logf("outbox: warning: cannot flush %s: %v", d, err)
		}
	}
}

// cleanTmp removes what crashed writers left in tmp/: message files nobody
// holds a lock on (a writer holds its lock until the rename, and the kernel
// drops the lock of a process that dies) and state files, once they are a
// minute old by the file system's clock.
func (q *Queue) cleanTmp() {
	entries, err := os.ReadDir(q.sub("tmp"))
	if err != nil {
		return
	}
	for _, e := range entries {
		p := q.sub("tmp", e.Name())
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		if !info.Mode().IsRegular() {
			os.Remove(p) // never opened: a FIFO would block the open
			continue
		}
		if !strings.HasSuffix(e.Name(), msgSuffix) {
			os.Remove(p)
			continue
		}
		if lf, err := openLocked(p, os.O_RDONLY); err == nil && lf != nil {
			removeLocked(lf, p)
		}
	}
}
