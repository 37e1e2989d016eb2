package pgqueue_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresTinyLease: a Queue opened with a lease shorter than
// pgqueue.MinLease (a typo, nanoseconds for seconds) delivers its items
// as with MinLease. Before, a lease of 2 ns made the renewal's ticker
// interval zero (time.NewTicker panicked, taking the process down), and
// with a lease of 1 µs, which ran out before any message was opened, Run
// spent 12 s claiming and giving back and delivered nothing.
func TestPostgresTinyLease(t *testing.T) {
	for _, lease := range []time.Duration{2, time.Microsecond} {
		t.Run(lease.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := openPG(t, newDB(t), pgqueue.Options{Lease: lease})
			srv, a := startServer(t)
			s, _ := json.Marshal(a)
			if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: s}, strings.NewReader(msg(1))); err != nil {
				t.Fatal(err)
			}
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
			if err != nil || st.Delivered != 1 {
				t.Fatalf("Run = %+v, %v; want 1 delivered", st, err)
			}
			received(t, ctx, srv, 1)
		})
	}
}
