package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// Another runner may act on an item between this run's open of the file
// and its lock: remove it (delivered), move it to failed/, or defer it.
// Whether the scan takes the item itself or leaves the lock to the batch
// (past the held-files limit), the item is then not offered again.
func TestRunRecheckUnderLock(t *testing.T) {
	acts := []struct {
		name   string
		act    func(q *Queue, id string) error
		notDue int
	}{
		{"removed", func(q *Queue, id string) error {
			// as a runner removes a delivered item (removeName: on Windows
			// the name goes first, by a rename)
			return errors.Join(removeName(q.sub("msg", id+msgSuffix)), syncDir(q.sub("msg")))
		}, 0},
		{"moved to failed", func(q *Queue, id string) error {
			return os.Rename(q.sub("msg", id+msgSuffix), q.sub("failed", id+msgSuffix))
		}, 0},
		{"deferred", func(q *Queue, id string) error {
			return q.writeState(q.sub("msg", id+stateSuffix), state{Attempts: 1, NextAttempt: t0.Add(time.Hour)})
		}, 1},
	}
	modes := []struct {
		name     string
		maxHeld  int64
		noRelist bool
	}{{"scan holds, one listing per batch", 0, false}, {"scan holds, checks per item", 0, true}, {"batch locks", -1, false}}
	for _, m := range modes {
		for _, a := range acts {
			t.Run(m.name+"/"+a.name, func(t *testing.T) {
				q, _, _ := newQueue(t)
				q.lim.maxHeld, q.lim.noRelist = m.maxHeld, m.noRelist
				id := enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
				other := enqueue(t, q, testSettings, "Subject: y\r\n\r\nbody\r\n")
				acted := false
				q.lim.hook = func(stage string) {
					if stage == "opened" && !acted {
						acted = true
						if err := a.act(q, id); err != nil {
							t.Fatal(err)
						}
					}
				}
				var offered []string
				st, err := q.Run(context.Background(), RunConfig{Deliver: deliverWith(func(it *Item) Result {
					offered = append(offered, it.ID)
					return Result{Outcome: Delivered}
				})})
				if err != nil {
					t.Fatal(err)
				}
				if !acted {
					t.Fatal("the hook never ran")
				}
				if len(offered) != 1 || offered[0] != other {
					t.Errorf("offered %v, want only %s", offered, other)
				}
				if st.Delivered != 1 || st.NotDue != a.notDue {
					t.Errorf("stats %+v, want 1 delivered, %d not due", st, a.notDue)
				}
			})
		}
	}
}

// The scan holds at most maxHeld files; past it, batches lock their items.
// (A spool this small is checked with one listing per batch.)
// Every item is delivered exactly once, and a run that ends (all done,
// some deferred, or cancelled midway) leaves no item locked.
func TestRunHeldLimit(t *testing.T) {
	for _, maxHeld := range []int64{0, 1, 3, -1} {
		for _, cancelAfter := range []int{0, 10} {
			q, _, _ := newQueue(t)
			q.lim.maxHeld = maxHeld
			other := testSettings
			other.Host = "mx2.example"
			var ids []string
			for i := range 20 {
				s := testSettings
				if i%3 == 0 {
					s = other
				}
				ids = append(ids, enqueue(t, q, s, "Subject: x\r\n\r\nbody\r\n"))
			}
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			count := map[string]int{}
			opened := 0
			q.lim.hook = func(stage string) {
				// Cancel while the scan (or a batch) is midway.
				mu.Lock()
				defer mu.Unlock()
				if stage == "opened" {
					opened++
					if cancelAfter > 0 && opened == cancelAfter {
						cancel()
					}
				}
			}
			deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
				for _, it := range batch {
					mu.Lock()
					count[it.ID]++
					mu.Unlock()
					if ctx.Err() != nil {
						return nil
					}
					if it.ID[len(it.ID)-1]%2 == 0 {
						report(it, Result{Outcome: Temporary, Err: errors.New("try later")})
					} else {
						report(it, Result{Outcome: Delivered})
					}
				}
				return nil
			}
			st, err := q.Run(ctx, RunConfig{Deliver: deliver, Parallel: 2, BatchSize: 4, MinBatch: 2})
			cancel()
			if cancelAfter == 0 && err != nil {
				t.Fatalf("maxHeld %d: %v", maxHeld, err)
			}
			for id, c := range count {
				if c != 1 {
					t.Errorf("maxHeld %d cancel %d: item %s offered %d times", maxHeld, cancelAfter, id, c)
				}
			}
			if cancelAfter == 0 && (len(count) != len(ids) || st.Delivered+st.Deferred != len(ids)) {
				t.Errorf("maxHeld %d: %d offered, stats %+v, want all %d", maxHeld, len(count), st, len(ids))
			}
			// No lock is left behind: every remaining item can be removed.
			left, err := q.List()
			if err != nil {
				t.Fatal(err)
			}
			if cancelAfter > 0 && len(left) == 0 {
				t.Errorf("maxHeld %d: a cancelled run left nothing", maxHeld)
			}
			for _, it := range left {
				if err := q.Remove(it.ID); err != nil {
					t.Errorf("maxHeld %d cancel %d: Remove(%s) after the run = %v", maxHeld, cancelAfter, it.ID, err)
				}
			}
		}
	}
}

// A run keeps one copy of each distinct settings (settingsCache): the
// items it reads have the same header values and settings as without the
// cache.
func TestDecodeHeaderCache(t *testing.T) {
	withPins := testSettings
	withPins.Pins = []string{"sha256/AAAA", "sha256/BBBB"}
	other := testSettings
	other.Host = "mx2.example"
	sc := settingsCache{}
	for _, s := range []testAcct{testSettings, withPins, other, withPins, testSettings} {
		h := header{ID: newID(time.Now()), Created: t0, Envelope: Envelope{From: "a@example.org", To: []string{"b@example.net"}}, Settings: s.json()}
		line, err := json.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		want, wantRaw, err := decodeHeader(line, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, raw, err := decodeHeader(line, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || raw != wantRaw {
			t.Errorf("with the cache %+v %s, want %+v %s", got, raw, want, wantRaw)
		}
		if raw != string(s.json()) {
			t.Errorf("settings %s, want %s", raw, s.json())
		}
	}
	if len(sc) != 3 {
		t.Errorf("%d cache entries, want 3 (one per distinct settings)", len(sc))
	}
}

// TestConcurrentRunnersModes runs three Run loops at once over one spool,
// in each way the scan can take items (held with one listing per batch,
// held with per-item checks, locked by the batch), while more items are
// enqueued, some deliveries fail for now (retried at once with Force) and
// some for good: every item is delivered or failed exactly once, never by
// two runners at the same moment, and nothing is left.
func TestConcurrentRunnersModes(t *testing.T) {
	modes := []struct {
		name      string
		maxHeld   int64
		noRelist  bool
		batchSize int
		chunk     int // directory entries read at a time (0: default)
	}{
		{"held, relisted", 0, false, 100, 0},
		{"held, per item", 0, true, 100, 0},
		{"held, small batches", 0, false, 3, 0},
		{"batch locks", -1, false, 7, 0},
		{"held limit 5", 5, false, 10, 0},
		{"read in chunks of 16", 0, false, 10, 16},
		{"chunks of 7, batch locks", -1, false, 4, 7},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := testdir.New(t)
			open := func() *Queue {
				q, err := Open(dir, Options{Logf: func(string, ...any) {}})
				if err != nil {
					t.Fatal(err)
				}
				q.lim.maxHeld, q.lim.noRelist, q.lim.scanChunk = m.maxHeld, m.noRelist, m.chunk
				return q
			}
			q0 := open()
			const n = 150
			body := func(i int) string { return fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i) }
			for i := range n / 2 {
				s := testSettings
				s.Host = fmt.Sprintf("mx%d.example", i%3)
				enqueue(t, q0, s, body(i))
			}
			var mu sync.Mutex
			inFlight := map[string]bool{}
			final := map[string]int{} // delivered or failed for good
			tries := map[string]int{}
			deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
				for _, it := range batch {
					mu.Lock()
					if inFlight[it.ID] {
						t.Errorf("item %s delivered by two runners at once", it.ID)
					}
					if final[it.ID] > 0 {
						t.Errorf("item %s offered again after it was delivered or failed", it.ID)
					}
					inFlight[it.ID] = true
					tries[it.ID]++
					res := Result{Outcome: Delivered}
					switch {
					case it.ID[len(it.ID)-1]%5 == 0 && tries[it.ID] == 1:
						res = Result{Outcome: Temporary, Err: errors.New("try later")}
					case it.ID[len(it.ID)-1]%7 == 0:
						res = Result{Outcome: Permanent, Err: errors.New("no")}
					}
					if res.Outcome != Temporary {
						final[it.ID]++
					}
					mu.Unlock()
					// The content is still the item's own.
					r, err := it.Open()
					if err != nil {
						t.Error(err)
					} else if _, err := io.ReadAll(r); err != nil {
						t.Errorf("item %s: %v", it.ID, err)
					}
					mu.Lock()
					delete(inFlight, it.ID)
					mu.Unlock()
					report(it, res)
				}
				return nil
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // more items while the runners work
				defer wg.Done()
				for i := n / 2; i < n; i++ {
					enqueue(t, q0, testSettings, body(i))
				}
			}()
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					q := open()
					for {
						if _, err := q.Run(context.Background(), RunConfig{Deliver: deliver, Parallel: 2,
							BatchSize: m.batchSize, MinBatch: 2, Force: true}); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						done := len(final) == n
						mu.Unlock()
						if done {
							return
						}
					}
				}()
			}
			wg.Wait()
			for id, c := range final {
				if c != 1 {
					t.Errorf("item %s finished %d times", id, c)
				}
			}
			if items, err := q0.List(); err != nil || len(items) != 0 {
				t.Errorf("%d items left (%v)", len(items), err)
			}
		})
	}
}

// openFDs counts this process's open file descriptors (Linux); ok is
// false where they cannot be counted. Under Wine /proc/self/fd lists
// Wine's own descriptors, which come and go with its caches, not the
// program's handles: only the count is left out there, never the test.
func openFDs() (n int, ok bool) {
	if runtime.GOOS == "windows" {
		return 0, false
	}
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	return len(es), true
}

// No run leaves a file open, whatever it meets (corrupt files, a bad
// state, an item another runner holds, one not due, one removed between
// open and lock, a deliverer that fails, a cancelled context), in every
// way the scan takes items, and the checksum still catches damage.
func TestRunLeavesNoOpenFiles(t *testing.T) {
	modes := []struct {
		name     string
		maxHeld  int64
		noRelist bool
		chunk    int
	}{{"relisted", 0, false, 0}, {"per item", 0, true, 0}, {"batch locks", -1, false, 0}, {"limit 2", 2, false, 0},
		{"chunks of 5", 0, false, 5}}
	for _, m := range modes {
		for _, failDeliver := range []bool{false, true} {
			for _, cancelled := range []bool{false, true} {
				name := fmt.Sprintf("%s/deliver error %v/cancelled %v", m.name, failDeliver, cancelled)
				t.Run(name, func(t *testing.T) {
					q, _, _ := newQueue(t)
					q.lim.maxHeld, q.lim.noRelist, q.lim.scanChunk = m.maxHeld, m.noRelist, m.chunk
					var ids []string
					for i := range 12 {
						ids = append(ids, enqueue(t, q, testSettings, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)))
					}
					p := q.sub("msg", ids[0]+msgSuffix)
					b, _ := os.ReadFile(p)
					os.WriteFile(p, b[:len(b)-10], 0o600) // truncated
					p = q.sub("msg", ids[1]+msgSuffix)
					b, _ = os.ReadFile(p)
					b[len(b)-trailerLen-3] ^= 0x20 // caught by the checksum
					os.WriteFile(p, b, 0o600)
					os.WriteFile(q.sub("msg", ids[2]+stateSuffix), []byte("{bad"), 0o600)
					q.writeState(q.sub("msg", ids[3]+stateSuffix), state{Attempts: 1, NextAttempt: t0.Add(time.Hour)})
					held, err := openLocked(q.sub("msg", ids[4]+msgSuffix), os.O_RDONLY) // another runner
					if err != nil || held == nil {
						t.Fatal("cannot lock", err)
					}
					before, counted := openFDs()
					var once sync.Once
					q.lim.hook = func(stage string) { // called by the scan and the batches
						if stage == "opened" {
							once.Do(func() { os.Remove(q.sub("msg", ids[5]+msgSuffix)) })
						}
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					if cancelled {
						cancel()
					}
					var checksum atomic.Bool
					_, err = q.Run(ctx, RunConfig{Parallel: 2, BatchSize: 3, MinBatch: 1,
						Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
							for i, it := range batch {
								rc, err := it.Open()
								if err == nil {
									_, err = io.Copy(io.Discard, rc)
									rc.Close()
								}
								var ce *CorruptError
								if errors.As(err, &ce) {
									checksum.Store(true)
								}
								if failDeliver && i == len(batch)-1 {
									return errors.New("connection lost") // the last one unreported
								}
								report(it, Classify(err))
							}
							return nil
						}})
					if !cancelled && err != nil {
						t.Fatal(err)
					}
					if after, ok := openFDs(); counted && ok && after != before {
						t.Errorf("%d files open before the run, %d after", before, after)
					} else if !counted {
						t.Log("open descriptors not counted on this platform; the other checks ran")
					}
					held.unlock()
					if !cancelled && !checksum.Load() {
						t.Error("the damaged content was not caught by its checksum")
					}
					// Nothing locked: every item left can be removed.
					left, _ := q.List()
					for _, it := range left {
						if err := q.Remove(it.ID); err != nil {
							t.Errorf("Remove(%s) after the run = %v", it.ID, err)
						}
					}
				})
			}
		}
	}
}
