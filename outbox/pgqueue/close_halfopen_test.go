package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// twoConns has q's pool hold two idle connections.
func twoConns(t *testing.T, q *pgqueue.Queue) {
	t.Helper()
	ctx := context.Background()
	a, err := q.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := q.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Release()
	b.Release()
}

// closeWithin calls q.Close and returns how long it took; it fails the
// test if Close has not returned after 30 s.
func closeWithin(t *testing.T, q *pgqueue.Queue) time.Duration {
	t.Helper()
	start := time.Now()
	closed := make(chan struct{})
	go func() { q.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close has not returned after 30 s")
	}
	return time.Since(start)
}

// allGone waits (up to 5 s) until the client side of every connection
// the proxy carried has ended, and returns how many ended with Terminate.
func allGone(t *testing.T, proxy *freezeProxy) (terminated int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i, pc := range proxy.opened() {
		select {
		case <-pc.clientGone:
		case <-deadline:
			t.Fatalf("connection %d of %d is still open 5 s after Close: a socket is left behind", i+1, len(proxy.opened()))
		}
		if pc.terminated() {
			terminated++
		}
	}
	return terminated
}

// TestPostgresCloseAfterTimeout: Close returns within a couple of seconds
// after an operation timed out on a half-open connection (the proxy stops
// forwarding without closing anything, as a vanished host or a NAT that
// dropped the flow), leaves no socket open, and still closes a healthy
// idle connection politely (Terminate). Before, pgxpool's Close waited for
// pgconn's background close of the abandoned connection, which sends a
// cancel request and then reads the connection until the server closes it,
// for up to 15 s: `tlsmail queue run` and `send --defer` printed "the
// queue database is unavailable" and exited 15 s later. "host gone": new
// connections get no answer either, so the cancel request hangs too.
func TestPostgresCloseAfterTimeout(t *testing.T) {
	t.Parallel()
	url := newDB(t)
	for _, tt := range []struct {
		name string
		gone bool
	}{
		{"server alive", false},
		{"host gone", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy, behind := behindProxy(t, url, pgqueue.Options{})
			pgqueue.SetOpTimeout(behind, time.Second)
			twoConns(t, behind)
			proxy.freeze()
			if tt.gone {
				proxy.swallow()
			}
			if _, err := behind.Count(); !errors.Is(err, pgqueue.ErrUnavailable) {
				t.Fatalf("Count on a half-open connection = %v; want ErrUnavailable", err)
			}
			d := closeWithin(t, behind)
			t.Logf("Close took %v", d.Round(time.Millisecond))
			if d > 5*time.Second {
				t.Errorf("Close took %v after an operation timed out; want about a second (no wait for the abandoned connection's 15 s drain)", d.Round(time.Millisecond))
			}
			if n := allGone(t, proxy); n < 1 {
				t.Errorf("no connection ended with Terminate; want the healthy idle one closed politely")
			}
		})
	}
}

// TestPostgresAbandonedConnectionShut: a Queue that goes on after an
// operation timed out (a Worker) does not keep the abandoned connection:
// its socket is shut within a couple of seconds, not after pgconn's 15 s
// drain (during which the pool also counts it against MaxConns), and the
// next operation gets a new connection.
func TestPostgresAbandonedConnectionShut(t *testing.T) {
	t.Parallel()
	url := newDB(t)
	proxy, behind := behindProxy(t, url, pgqueue.Options{})
	pgqueue.SetOpTimeout(behind, time.Second)
	if _, err := behind.Count(); err != nil {
		t.Fatal(err)
	}
	proxy.freeze()
	frozen := proxy.opened()
	if _, err := behind.Count(); !errors.Is(err, pgqueue.ErrUnavailable) {
		t.Fatalf("Count on a half-open connection = %v; want ErrUnavailable", err)
	}
	start := time.Now()
	for i, pc := range frozen {
		select {
		case <-pc.clientGone:
		case <-time.After(5 * time.Second):
			t.Fatalf("the abandoned connection %d is still open %v after its operation timed out", i+1, time.Since(start).Round(time.Millisecond))
		}
	}
	t.Logf("abandoned connection shut %v after the timeout", time.Since(start).Round(time.Millisecond))
	if _, err := behind.Count(); err != nil {
		t.Fatalf("Count after the timeout: %v; want a new connection", err)
	}
	if n := behind.Pool().Stat().TotalConns(); n != 1 {
		t.Errorf("the pool has %d connections; want 1 (the new one)", n)
	}
}

// TestPostgresClosePolite: a healthy Queue's Close says goodbye on each
// connection (Terminate) and closes them all.
func TestPostgresClosePolite(t *testing.T) {
	t.Parallel()
	proxy, behind := behindProxy(t, newDB(t), pgqueue.Options{})
	twoConns(t, behind)
	closeWithin(t, behind)
	if n, want := allGone(t, proxy), len(proxy.opened()); n != want {
		t.Errorf("%d of %d connections ended with Terminate; want all", n, want)
	}
}

// TestPostgresCloseDuringCommit: Close called while an enqueue's COMMIT is
// under way on a healthy connection (the server slow to commit: a deferred
// trigger sleeps 2 s) waits for it, as pgxpool's Close does: the enqueue
// succeeds and its item is queued once. Before, Close shut every socket
// still open a second after it was called, live ones included: the COMMIT
// the server went on to make was reported as "the message may be queued"
// (after the lost-COMMIT check, whose own connections Close refused, had
// retried for its whole bound), and a caller that sent the message again
// made a duplicate.
func TestPostgresCloseDuringCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	if _, err := dial(t, url).Exec(ctx, `CREATE FUNCTION public.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			PERFORM pg_sleep(2);
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON tlsmail.outbox
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.slow_commit();`); err != nil {
		t.Fatal(err)
	}
	direct := openPG(t, url, pgqueue.Options{})
	q := openPG(t, url, pgqueue.Options{})
	pgqueue.SetOpTimeout(q, 5*time.Second) // the lost-COMMIT check's bound
	closed := make(chan time.Duration, 1)
	pgqueue.SetBeforeCommit(q, func() {
		go func() {
			time.Sleep(200 * time.Millisecond) // the COMMIT is with the server
			closed <- closeWithin(t, q)
		}()
	})
	start := time.Now()
	id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(1)))
	t.Logf("EnqueueData = %q, %v (after %v)", id, err, time.Since(start).Round(time.Millisecond))
	d := <-closed
	t.Logf("Close took %v", d.Round(time.Millisecond))
	if err != nil {
		t.Errorf("EnqueueData with Close called during its COMMIT = %v; want the item's ID (the COMMIT was under way on a healthy connection)", err)
	}
	if n, err := direct.Count(); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want the one item queued", n, err)
	}
}
