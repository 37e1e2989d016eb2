package outbox

import (
	"bytes"
	"context"
	"testing"
)

func BenchmarkEnqueue(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			q, _, _ := newQueue(b)
			body := bytes.Repeat([]byte("x"), size)
			env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.EnqueueData(context.Background(), env, testSettings.data(), bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<20 {
		return "1MiB"
	}
	return "1KiB"
}

// BenchmarkRunBookkeeping measures Run's per-item cost (scan, lock,
// remove, directory fsync per batch) with a deliverer that accepts
// everything at once; the items are enqueued with the timer stopped.
func BenchmarkRunBookkeeping(b *testing.B) {
	const perRun = 100
	q, _, _ := newQueue(b)
	deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			report(it, Result{Outcome: Delivered})
		}
		return nil
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for range perRun {
			enqueue(b, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
		}
		b.StartTimer()
		st, err := q.Run(context.Background(), RunConfig{Deliver: deliver})
		if err != nil || st.Delivered != perRun {
			b.Fatalf("Run = %+v, %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perRun), "ns/item")
}

// BenchmarkScan measures how long Run takes to find and read 1,000 due
// items before any batch starts (the queue-run start-up).
func BenchmarkScan(b *testing.B) {
	const items = 1000
	q, _, _ := newQueue(b)
	for range items {
		enqueue(b, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &runner{q: q, rc: RunConfig{BatchSize: 250, MinBatch: 16, Parallel: 4}, dirty: map[string]bool{}, maxHeld: maxHeldFiles()}
		var batches int
		err := r.scan(func(b []*Item) bool { batches++; r.release(b); return true })
		if err != nil || batches != 4 {
			b.Fatalf("scan = %d batches, %v", batches, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}
