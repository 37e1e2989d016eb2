package pgqueue_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// slowReader gives its text after a pause, as a program that writes a
// message to sendmail's standard input slowly does.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.pause > 0 {
		time.Sleep(s.pause)
		s.pause = 0
	}
	return s.r.Read(p)
}

// TestPostgresEnqueueSlowReader: the bound on an enqueue's database work
// (5 minutes; 1 s here) does not count the time the message takes to
// arrive: EnqueueData reads it before it opens its transaction, so a
// message written slowly (a cron job piping into sendmail) is queued, and
// no transaction waits idle for it meanwhile. Before, the transaction was
// opened first and the deadline ran while the message was read: the
// enqueue failed as "the database did not answer in time" (exit 75).
func TestPostgresEnqueueSlowReader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	pgqueue.SetEnqueueTimeout(q, time.Second)
	r := &slowReader{r: strings.NewReader(msg(1)), pause: 2 * time.Second}
	idle := make(chan int, 1)
	go func() {
		time.Sleep(time.Second) // while the message is read
		var n int
		q.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()`).Scan(&n)
		idle <- n
	}()
	if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, r); err != nil {
		t.Fatalf("an enqueue whose message took 2 s to arrive, with a 1 s bound: %v", err)
	}
	if n := <-idle; n != 0 {
		t.Errorf("%d transactions idle while the message was read", n)
	}
	if n, _ := q.Count(); n != 1 {
		t.Fatalf("%d queued, want 1", n)
	}
}
