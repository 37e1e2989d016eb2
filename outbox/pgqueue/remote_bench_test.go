package pgqueue_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// latencyProxy forwards TCP connections to target, delaying every byte by
// oneWay in each direction (a database across a network: a round trip
// costs 2×oneWay), without limiting the bandwidth. It stops with the
// benchmark.
func latencyProxy(tb testing.TB, target string, oneWay time.Duration) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	type chunk struct {
		at time.Time
		b  []byte
	}
	pipe := func(dst, src net.Conn) {
		ch := make(chan chunk, 1024)
		go func() {
			defer close(ch)
			for {
				buf := make([]byte, 64<<10)
				n, err := src.Read(buf)
				if n > 0 {
					ch <- chunk{time.Now().Add(oneWay), buf[:n]}
				}
				if err != nil {
					return
				}
			}
		}()
		for c := range ch {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return ln.Addr().String()
}

// BenchmarkQueueDeliverRemoteDB: messages/s one `queue run` process
// delivers into the embedded server on loopback when PostgreSQL is a round
// trip of 2, 10 or 40 ms away, with pgqueue.Options.MaxUnrecorded at its
// default (8) and at 64, over 1 and 4 connections: whether a worker far
// from its database needs MaxUnrecorded raised (docs/queue-postgres.md).
//
//	go test -run '^$' -bench QueueDeliverRemoteDB -benchtime 1x ./outbox/pgqueue
func BenchmarkQueueDeliverRemoteDB(b *testing.B) {
	const per = 1000
	for _, rtt := range []time.Duration{2 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond} {
		for _, parallel := range []int{1, 4} {
			for _, maxUnrecorded := range []int{0, 64} {
				b.Run(fmt.Sprintf("rtt=%v/parallel=%d/unrecorded=%d", rtt, parallel, max(maxUnrecorded, pgqueue.DefaultMaxUnrecorded)), func(b *testing.B) {
					ctx := context.Background()
					srv, a := startServer(b)
					direct := newDB(b)
					u, err := url.Parse(direct)
					if err != nil {
						b.Fatal(err)
					}
					u.Host = latencyProxy(b, u.Host, rtt/2)
					qd, err := pgqueue.Open(ctx, direct, pgqueue.Options{})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(qd.Close)
					q, err := pgqueue.Open(ctx, u.String(), pgqueue.Options{MaxUnrecorded: maxUnrecorded})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(q.Close)
					delivered := 0
					b.ResetTimer()
					for range b.N {
						b.StopTimer()
						for i := range per {
							if _, err := submit.Enqueue(ctx, qd, a, env, strings.NewReader(msg(i))); err != nil {
								b.Fatal(err)
							}
						}
						b.StartTimer()
						st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Parallel: parallel, BatchSize: 250})
						if err != nil {
							b.Fatal(err)
						}
						delivered += st.Delivered
					}
					reportDelivered(b, srv, delivered, per*b.N)
				})
			}
		}
	}
}
