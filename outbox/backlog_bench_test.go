package outbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fillSpool writes n items of about 1 KB straight into msg/, as Enqueue
// leaves them but without an fsync each (100,000 fsyncs would be the
// benchmark's whole cost).
func fillSpool(tb testing.TB, q *Queue, n int) {
	tb.Helper()
	content := []byte("Subject: backlog\r\n\r\n" + strings.Repeat("0123456789abcdef012345678901234567890123456789012345678901234567\r\n", 15))
	sum := sha256.Sum256(content)
	tr := trailer(int64(len(content)), sum[:])
	base := time.Now()
	for i := range n {
		id := newID(base.Add(time.Duration(i)))
		hj, err := json.Marshal(&header{ID: id, Created: t0, Envelope: Envelope{From: "joe@example.org", To: []string{"ann@example.net"}}, Settings: testSettings.json()})
		if err != nil {
			tb.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteString(magic)
		b.Write(hj)
		b.WriteByte('\n')
		b.Write(content)
		b.Write(tr)
		if err := os.WriteFile(q.sub("msg", id+msgSuffix), b.Bytes(), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// peak runs f and returns the most heap in use while it ran (sampled
// every millisecond) and the process's peak resident set (Linux: VmHWM,
// reset before f; 0 elsewhere).
func peak(f func()) (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var most atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > most.Load() {
				most.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return most.Load(), vmHWM()
}

func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkBacklog lists and runs a queue of 100,000 items of 1 KB (a
// server down for an afternoon at a busy sender) and reports the peak heap
// and resident set of each: they must stay bounded (under 64 MB) whatever
// the backlog. Run it with -benchtime=1x: one iteration fills the spool
// once (untimed) and takes tens of seconds.
//
//	go test -run '^$' -bench Backlog -benchtime 1x ./outbox/
func BenchmarkBacklog(b *testing.B) {
	const n = 100_000
	q, _, _ := newQueue(b)
	b.Run("list", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if c, _ := q.Count(); c != n {
				os.RemoveAll(q.sub("msg"))
				os.Mkdir(q.sub("msg"), 0o700)
				fillSpool(b, q, n)
			}
			b.StartTimer()
			var listed int
			heap, rss := peak(func() {
				err := q.Walk(func(it *Item) error { listed++; return nil })
				if err != nil {
					b.Fatal(err)
				}
			})
			if listed != n {
				b.Fatalf("listed %d items, want %d", listed, n)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
		}
	})
	b.Run("run", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if c, _ := q.Count(); c != n {
				fillSpool(b, q, n-c)
			}
			b.StartTimer()
			var st Stats
			heap, rss := peak(func() {
				var err error
				st, err = q.Run(context.Background(), RunConfig{BatchSize: 250, Parallel: 4,
					Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
						for _, it := range batch {
							report(it, Result{Outcome: Delivered})
						}
						return nil
					}})
				if err != nil {
					b.Fatal(err)
				}
			})
			if st.Delivered != n {
				b.Fatalf("Run = %+v", st)
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
		}
	})
}
