package pgqueue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresEnqueueCommitLost: an enqueue whose COMMIT gets no answer
// reports what the database did, not a guess.
//
// answer lost: the COMMIT reaches the server (which commits) and its
// answer is dropped. The enqueue succeeds with the item's ID, and the
// item is queued once. Before, it failed as "unavailable" while the
// item was queued: a caller that sent the message again (sendmail's
// exit 75) made a duplicate.
//
// commit lost: the COMMIT never reaches the server. The transaction's
// backend is ended, so the COMMIT cannot arrive later, and the enqueue
// fails with nothing queued.
func TestPostgresEnqueueCommitLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	_, a := startServer(t)
	direct := openPG(t, url, pgqueue.Options{})
	for i, tt := range []struct {
		name   string
		cut    func(*freezeProxy)
		queued bool
	}{
		{"answer lost", (*freezeProxy).mute, true},
		{"commit lost", (*freezeProxy).freeze, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proxy, behind := commitLostQueue(t, url, 5*time.Second, 2*time.Second)
			pgqueue.SetBeforeCommit(behind, func() { tt.cut(proxy) })
			before, err := direct.Count()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(i)))
			t.Logf("Enqueue = %q, %v (after %v)", id, err, time.Since(start).Round(time.Millisecond))
			after, cerr := direct.Count()
			if cerr != nil {
				t.Fatal(cerr)
			}
			if tt.queued {
				wantCommitted(t, direct, id, err)
				if after != before+1 {
					t.Fatalf("%d items queued, %d before; want one more", after, before)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "may be queued") {
				t.Fatalf("Enqueue = %q, %v; want an error saying it was not queued: the commit never reached the database", id, err)
			}
			if after != before {
				t.Fatalf("%d items queued, %d before; want none more", after, before)
			}
		})
	}
}

// TestPostgresEnqueueCommitLostDelivered: the answer to an enqueue's
// COMMIT is lost, and before the enqueue asks the database what became
// of it, a worker (woken by the NOTIFY of that COMMIT) has delivered the
// item and deleted it. The enqueue reports the item as queued (its ID,
// no error): it was committed. Before, it looked the item up in the
// queue's tables, found it nowhere, and failed as "unavailable, nothing
// written": the caller (sendmail, exit 75) sent the message again, a
// duplicate of one already delivered.
func TestPostgresEnqueueCommitLostDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	direct := openPG(t, url, pgqueue.Options{})
	// Upper bounds only: the proxy's cut ends the wait for the answer.
	proxy, behind := commitLostQueue(t, url, 30*time.Second, 30*time.Second)
	delivered := make(chan error, 1)
	pgqueue.SetBeforeCommit(behind, func() {
		proxy.mute()
		go func() {
			// The worker: once the COMMIT is in, a pass delivers the
			// item (and deletes it); then the enqueue's connection breaks.
			defer proxy.cut()
			if err := waitCommitted(direct); err != nil {
				delivered <- err
				return
			}
			st, err := submit.RunPass(ctx, direct, submit.PassConfig{})
			if err == nil && st.Delivered != 1 {
				err = fmt.Errorf("the pass delivered %d items, want 1", st.Delivered)
			}
			delivered <- err
		}()
	})
	id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(0)))
	t.Logf("Enqueue = %q, %v", id, err)
	if derr := <-delivered; derr != nil {
		t.Fatal(derr)
	}
	if got, err := srv.Messages(); err != nil || len(got) != 1 {
		t.Fatalf("the server has %d messages (%v), want the one delivered", len(got), err)
	}
	if err != nil || id == "" {
		t.Fatalf("Enqueue = %q, %v; want the ID of the item the database committed (and a worker delivered): an error has the caller send it again", id, err)
	}
}

// TestPostgresEnqueueCommitLostPIDReused: the process ID an enqueue's
// statement reported names another session by the time the lost COMMIT
// is settled (the enqueue's backend gone and its PID given to a new
// backend; here, through a seam, the PID of a live session of the same
// role). That session is not ended: it is not the one holding the
// enqueue's transaction. Before, pg_terminate_backend ended whatever
// backend had the PID, an innocent session (another enqueue, a worker)
// or, for a superuser role, an autovacuum worker.
func TestPostgresEnqueueCommitLostPIDReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	_, a := startServer(t)
	innocent, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer innocent.Close(ctx)
	var pid int64
	if err := innocent.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	proxy, behind := commitLostQueue(t, url, 2*time.Second, 2*time.Second)
	pgqueue.SetBackendPID(behind, func(int64) int64 { return pid })
	enqueueLostSpares(t, proxy, behind, a, 0, innocent, "the session that had the reported process ID")
}

// rowQuerier is a session to ask: a *pgx.Conn or a pgx.Tx.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// enqueueLostSpares enqueues message i through behind with the COMMIT
// frozen on its way (proxy.freeze: it never reaches the database), wants
// the enqueue to fail, and then wants other, a session the enqueue was
// led to take for its own (whose, in the failure), still to answer: the
// lost COMMIT was settled without ending it.
func enqueueLostSpares(t *testing.T, proxy *freezeProxy, behind *pgqueue.Queue, a *submit.Account, i int, other rowQuerier, whose string) {
	t.Helper()
	ctx := context.Background()
	pgqueue.SetBeforeCommit(behind, proxy.freeze)
	id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(i)))
	t.Logf("Enqueue = %q, %v", id, err)
	if err == nil {
		t.Fatalf("Enqueue = %q; want an error: the COMMIT never reached the database", id)
	}
	var one int
	if err := other.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("%s was ended: %v", whose, err)
	}
}

// TestPostgresEnqueueCommitLostRestart: the answer to an enqueue's
// COMMIT is lost because the connection breaks, and the database refuses
// connections for a moment after (a server restarting, a failover in
// progress: the usual reason an answer is lost). The enqueue asks again
// until the database answers (within its bound) and reports the item as
// queued. Before, the first refused connection ended the check: "the
// message may be queued" with exit 75, and the caller sent it again.
func TestPostgresEnqueueCommitLostRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	_, a := startServer(t)
	direct := openPG(t, url, pgqueue.Options{})
	// Upper bounds only: the proxy's cut ends the wait for the answer.
	proxy, behind := commitLostQueue(t, url, 30*time.Second, 30*time.Second)
	committed := make(chan error, 1)
	pgqueue.SetBeforeCommit(behind, func() {
		proxy.mute()
		proxy.refuse(true)
		go func() {
			committed <- waitCommitted(direct)
			proxy.cut()
			time.Sleep(time.Second)
			proxy.refuse(false)
		}()
	})
	id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(0)))
	t.Logf("Enqueue = %q, %v", id, err)
	if cerr := <-committed; cerr != nil {
		t.Fatal(cerr)
	}
	wantCommitted(t, direct, id, err)
}

// TestPostgresEnqueueCommitLostInterrupted: the caller gives up (Ctrl-C
// cancels its context) while an enqueue waits for the answer to its
// COMMIT from a database that has stopped answering, new connections
// included. The enqueue still asks what became of the COMMIT, but for a
// few seconds, not the minute of an uninterrupted one: it returns the
// "may be queued" error within 20 s here (its bound is a minute). Before,
// it waited the whole minute, and tlsmail, which catches a second Ctrl-C
// as it did the first, could not be stopped meanwhile.
func TestPostgresEnqueueCommitLostInterrupted(t *testing.T) {
	t.Parallel()
	url := newDB(t)
	_, a := startServer(t)
	proxy, behind := commitLostQueue(t, url, time.Minute, time.Minute)
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	pgqueue.SetBeforeCommit(behind, func() {
		proxy.freeze()
		proxy.swallow()
		time.AfterFunc(200*time.Millisecond, interrupt)
	})
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(0)))
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("Enqueue: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
		if err == nil || !strings.Contains(err.Error(), "may be queued") {
			t.Fatalf("Enqueue: %v; want the error saying the message may be queued", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the interrupted enqueue did not return within 20 s")
	}
}

// commitLostQueue opens a Queue behind a freezeProxy to url's database
// (behindProxy), each database operation bounded by op and an enqueue's
// database work by enqueue.
func commitLostQueue(t *testing.T, url string, op, enqueue time.Duration) (*freezeProxy, *pgqueue.Queue) {
	t.Helper()
	proxy, behind := behindProxy(t, url, pgqueue.Options{})
	pgqueue.SetOpTimeout(behind, op)
	pgqueue.SetEnqueueTimeout(behind, enqueue)
	return proxy, behind
}

// wantCommitted fails the test unless the enqueue that returned id, err
// reported the item the database committed: its ID and no error, and the
// item there to read through direct (a Queue connected directly).
func wantCommitted(t *testing.T, direct *pgqueue.Queue, id string, err error) {
	t.Helper()
	if err != nil || id == "" {
		t.Fatalf("Enqueue = %q, %v; want the ID of the item the database committed", id, err)
	}
	if _, err := direct.Get(id); err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
}

// waitCommitted waits (up to 20 s) for the enqueue's COMMIT to reach the
// database: the one item queued, as q (connected directly) sees it.
func waitCommitted(q *pgqueue.Queue) error {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := q.Count()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the COMMIT did not reach the database")
		}
	}
}

// TestPostgresEnqueueCommitLostClosing: the answer to an enqueue's COMMIT
// is lost while the Queue is being closed (a program stopping with an
// enqueue under way). The database committed; the enqueue still asks it,
// on a connection of its own, and reports the item queued. Before, Close
// refused every connection made after it began, the lost-COMMIT check's
// too: the check retried the refused connection for its whole bound and
// reported "the message may be queued", and a caller that sent the message
// again made a duplicate.
func TestPostgresEnqueueCommitLostClosing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	_, a := startServer(t)
	direct := openPG(t, url, pgqueue.Options{})
	proxy, behind := commitLostQueue(t, url, 5*time.Second, 2*time.Second)
	closed := make(chan struct{})
	pgqueue.SetBeforeCommit(behind, func() {
		proxy.mute()
		go func() { behind.Close(); close(closed) }()
	})
	start := time.Now()
	id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(0)))
	t.Logf("Enqueue = %q, %v (after %v)", id, err, time.Since(start).Round(time.Millisecond))
	<-closed
	wantCommitted(t, direct, id, err)
}
