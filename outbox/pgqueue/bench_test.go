package pgqueue_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// BenchmarkQueueDeliver: messages/s delivered into the embedded server by
// 1, 2 and 4 workers (each its own Queue, as separate hosts would have,
// with Parallel 1) on PostgreSQL, beside one runner on the spool
// directory; the same sink, 1,000 messages of one account per iteration
// (enqueued untimed). The -exec cases use pgx's exec query mode
// (default_query_exec_mode=exec, what a URL through a pooler needs), and
// the -pgbouncer ones reach the database through a private PgBouncer in
// transaction pooling (4 server connections; the queue then uses exec by
// itself): what the mode and the pooler's hop cost.
//
//	go test -run '^$' -bench QueueDeliver -benchtime 3x ./outbox/pgqueue
func BenchmarkQueueDeliver(b *testing.B) {
	const per = 1000
	cases := []struct {
		name    string
		workers int
		pg      bool
		via     string // "", "exec", "pgbouncer"
	}{{"dir-1", 1, false, ""}, {"postgres-1", 1, true, ""}, {"postgres-2", 2, true, ""}, {"postgres-4", 4, true, ""},
		{"postgres-2-exec", 2, true, "exec"}, {"postgres-2-pgbouncer", 2, true, "pgbouncer"}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			srv, a := startServer(b)
			var stores []outbox.Store
			if c.pg {
				url := newDB(b)
				switch c.via {
				case "exec":
					url += "&default_query_exec_mode=exec"
				case "pgbouncer":
					url = pg.Bouncer(b, url, testpg.Bouncer{PoolMode: "transaction", PoolSize: 4})
				}
				for range c.workers {
					q, err := pgqueue.Open(ctx, url, pgqueue.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(q.Close)
					stores = append(stores, q)
				}
			} else {
				q, err := outbox.Open(filepath.Join(testdir.New(b), "q"), outbox.Options{})
				if err != nil {
					b.Fatal(err)
				}
				stores = append(stores, q)
			}
			delivered := 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range per {
					if _, err := submit.Enqueue(ctx, stores[0], a, env, strings.NewReader(msg(i))); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				var wg sync.WaitGroup
				var mu sync.Mutex
				for _, q := range stores {
					wg.Add(1)
					go func() {
						defer wg.Done()
						st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Parallel: 1, BatchSize: 250})
						if err != nil {
							b.Error(err)
						}
						mu.Lock()
						delivered += st.Delivered
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			reportDelivered(b, srv, delivered, per*b.N)
		})
	}
}

// reportDelivered stops b's timer, fails b unless delivered (what the
// runs reported) and the messages srv received are both want, and
// reports the rate as msgs/s (in place of ns/op).
func reportDelivered(b *testing.B, srv *server.Server, delivered, want int) {
	b.Helper()
	b.StopTimer()
	if delivered != want {
		b.Fatalf("delivered %d, want %d", delivered, want)
	}
	if ms, _ := srv.Messages(); len(ms) != want {
		b.Fatalf("the server got %d messages, want %d", len(ms), want)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}
