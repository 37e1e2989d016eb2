package pgqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// bouncedDB is a fresh database of the cluster without the queue schema,
// reached directly (direct) and through a private PgBouncer in pool mode
// mode (bounced). In transaction mode its server connections are few (2)
// so that clients share them; in session mode a client holds one for as
// long as it is connected, and a client beyond the pool's size waits for
// one (a test's runs then wait a minute for their bound), so there are
// 20.
func bouncedDB(t *testing.T, mode string) (direct, bounced string) {
	size := 2
	if mode == "session" {
		size = 20
	}
	return bouncedDBSize(t, mode, size)
}

// bouncedDBSize is bouncedDB with size server connections.
func bouncedDBSize(t *testing.T, mode string, size int) (direct, bounced string) {
	t.Helper()
	base := pg.URL(t)
	conn := dial(t, base)
	name := fmt.Sprintf("b%d", dbSeq.Add(1))
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	direct = strings.Replace(base, "/postgres?", "/"+name+"?", 1)
	return direct, pg.Bouncer(t, direct, testpg.Bouncer{PoolMode: mode, PoolSize: size})
}

// TestPostgresThroughPgBouncer: the queue through PgBouncer in session
// and in transaction pooling, with pgx's default query mode and with
// each mode a URL may name: `queue init` twice (as two hosts' deployments
// do), enqueue (Enqueue and EnqueueTx), list, show, remove, and two runs
// at once delivering into the embedded server, each message exactly once
// and none left.
//
// Before: through transaction pooling the default mode failed ("prepared
// statement ... already exists", SQLSTATE 42P05: the second init, or
// Open, met a statement the first had prepared on the shared server
// connection), and with default_query_exec_mode=exec or simple_protocol
// every enqueue failed, through a pooler or not (the envelope and
// settings went as bytea: "invalid input syntax for type json").
func TestPostgresThroughPgBouncer(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"session", "transaction"} {
		for _, qm := range []string{"", "exec", "simple_protocol", "cache_describe"} {
			t.Run(mode+"/"+cmpOr(qm, "default"), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				_, url := bouncedDB(t, mode)
				if qm != "" {
					url += "&default_query_exec_mode=" + qm
				}
				for i := range 2 {
					c, err := pgx.Connect(ctx, url)
					if err != nil {
						t.Fatal(err)
					}
					_, err = pgqueue.Migrate(ctx, c)
					c.Close(ctx)
					if err != nil {
						t.Fatalf("Migrate (init %d): %v", i+1, err)
					}
				}
				q := openPG(t, url, pgqueue.Options{})
				srv, a := startServer(t)
				const n = 30
				for i := range n - 1 {
					if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err != nil {
						t.Fatalf("Enqueue %d: %v", i, err)
					}
				}
				acct := a.Stored()
				data, _ := json.Marshal(&acct)
				tx, err := q.Pool().Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := q.EnqueueTx(ctx, tx, env, outbox.Data{Settings: data}, strings.NewReader(msg(n-1))); err != nil {
					t.Fatalf("EnqueueTx: %v", err)
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				// One more, shown and removed.
				gone, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(n)))
				if err != nil {
					t.Fatal(err)
				}
				items, err := q.List()
				if err != nil || len(items) != n+1 {
					t.Fatalf("List = %d items, %v; want %d", len(items), err, n+1)
				}
				it, err := q.Get(gone)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				r, err := it.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil || string(b) != msg(n) {
					t.Fatalf("shown %q, %v; want %q", b, err, msg(n))
				}
				if err := q.Remove(gone); err != nil {
					t.Fatalf("Remove: %v", err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[i] = submit.RunPass(ctx, q, submit.PassConfig{Parallel: 2})
					}()
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("RunPass: %v", err)
				}
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				got, seen := received(t, wctx, srv, n)
				for i := range n {
					if seen[msg(i)] != 1 {
						t.Errorf("message %d received %d times, want once", i, seen[msg(i)])
					}
				}
				if left, err := q.Count(); err != nil || left != 0 || got != n {
					t.Fatalf("%d received, %d left (%v); want %d and none", got, left, err, n)
				}
			})
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestPostgresPgBouncerUnsafeMode: a URL through a pooler that asks for a
// query mode whose statements outlive a transaction (cache_statement,
// describe_exec) is refused at Open with ErrPooler and a fix naming
// default_query_exec_mode=exec. Before, Open took it, and through
// transaction pooling a run then failed at random: with describe_exec
// the deletion of delivered messages met "unnamed prepared statement
// does not exist" (they stayed queued, to be sent again).
func TestPostgresPgBouncerUnsafeMode(t *testing.T) {
	t.Parallel()
	direct, url := bouncedDB(t, "transaction")
	c := dial(t, direct)
	if _, err := pgqueue.Migrate(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	for _, qm := range []string{"cache_statement", "describe_exec"} {
		q, err := pgqueue.Open(context.Background(), url+"&default_query_exec_mode="+qm, pgqueue.Options{})
		if err == nil {
			q.Close()
			t.Fatalf("%s: Open succeeded; want ErrPooler", qm)
		}
		if !errors.Is(err, pgqueue.ErrPooler) || !strings.Contains(err.Error(), "default_query_exec_mode=exec") {
			t.Fatalf("%s: Open: %v; want ErrPooler naming default_query_exec_mode=exec", qm, err)
		}
	}
	// Directly, the same URL parameter is the user's choice.
	openPG(t, direct+"&default_query_exec_mode=cache_statement", pgqueue.Options{})
}

// TestPostgresPgBouncerListen: a worker's LISTEN through PgBouncer. In
// session pooling an enqueue wakes it. In transaction pooling the LISTEN
// is lost with its server connection (PgBouncer 1.18 gives no error, and
// the enqueue's notification never arrives): Listen finds that out with a
// probe and says so, once, with ErrNotifyPooled and what to do, instead of
// waiting in silence; the worker's interval still finds the messages.
// Before, it waited in silence: no warning, no wake-up.
func TestPostgresPgBouncerListen(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode string
		wake bool
	}{{"session", true}, {"transaction", false}} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			direct, url := bouncedDB(t, tt.mode)
			if _, err := pgqueue.Migrate(ctx, dial(t, direct)); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var logs []string
			q := openPG(t, url, pgqueue.Options{ListenCheck: 2 * time.Second, Logf: func(f string, a ...any) {
				mu.Lock()
				logs = append(logs, fmt.Sprintf(f, a...))
				mu.Unlock()
			}})
			woke := make(chan struct{}, 10)
			lctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { q.Listen(lctx, func() { woke <- struct{}{} }); close(done) }()
			defer func() { cancel(); <-done }()
			_, a := startServer(t)
			// Enqueue until woken or warned (the LISTEN may not be in
			// place at the first).
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; ; i++ {
				if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err != nil {
					t.Fatal(err)
				}
				select {
				case <-woke:
					if !tt.wake {
						t.Fatalf("woken through transaction pooling")
					}
					return
				case <-time.After(200 * time.Millisecond):
				}
				mu.Lock()
				text := strings.Join(logs, "\n")
				mu.Unlock()
				if strings.Contains(text, "warning") {
					if tt.wake {
						t.Fatalf("warned through session pooling: %s", text)
					}
					if !strings.Contains(text, ErrNotifyPooledText) || !strings.Contains(text, "session") {
						t.Fatalf("the warning does not say what happened and what to do: %s", text)
					}
					t.Logf("warned: %s", text)
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("neither woken nor warned within 20 s (logs: %q)", text)
				}
			}
		})
	}
}

// ErrNotifyPooledText is ErrNotifyPooled's text.
var ErrNotifyPooledText = pgqueue.ErrNotifyPooled.Error()

// TestPostgresPgBouncerCommitLost: an enqueue through PgBouncer in
// transaction pooling whose COMMIT never reaches it (the connection
// between the client and the pooler frozen).
//
// own transaction: the transaction ends by the idle timeout the enqueue
// set for it alone (no backend is signalled), and the enqueue reports
// that nothing was queued.
//
// another client's backend: what the enqueue finds, when it asks, is
// another client's transaction in progress on a backend (through a
// pooler, the enqueue's backend is handed to the next client as soon as
// its transaction ends; here a seam gives the enqueue that client's
// backend and transaction, as after such a hand-over between the check
// and the signal). That client's session is not ended. Before, the
// enqueue ended any backend whose transaction it believed its own
// (pg_terminate_backend): through a pooler, another client's session.
func TestPostgresPgBouncerCommitLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Three server connections: the frozen enqueue's, the other
	// client's, and one for the question.
	direct, url := bouncedDBSize(t, "transaction", 3)
	if _, err := pgqueue.Migrate(ctx, dial(t, direct)); err != nil {
		t.Fatal(err)
	}
	_, a := startServer(t)
	count := openPG(t, direct, pgqueue.Options{})
	t.Run("own transaction", func(t *testing.T) {
		// The bound on commitLost's question (10 s) is well above the
		// idle timeout (1 s): an answer within it comes from the end of
		// the transaction, not from the bound.
		proxy, behind := commitLostQueue(t, url, 10*time.Second, 2*time.Second)
		pgqueue.SetIdleTx(behind, time.Second)
		pgqueue.SetBeforeCommit(behind, proxy.freeze)
		defer proxy.cut() // before the pool's close (see TestPostgresEnqueueCommitLost)
		id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(0)))
		t.Logf("Enqueue = %q, %v", id, err)
		if err == nil || strings.Contains(err.Error(), "may be queued") {
			t.Fatalf("Enqueue = %q, %v; want an error saying it was not queued", id, err)
		}
		if n, err := count.Count(); err != nil || n != 0 {
			t.Fatalf("%d items queued (%v); want none", n, err)
		}
	})
	t.Run("another client's backend", func(t *testing.T) {
		innocent, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer innocent.Close(ctx)
		itx, err := innocent.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer itx.Rollback(ctx)
		var pid, txid int64
		if err := itx.QueryRow(ctx, `SELECT pg_backend_pid(), txid_current()`).Scan(&pid, &txid); err != nil {
			t.Fatal(err)
		}
		proxy, behind := commitLostQueue(t, url, 3*time.Second, 3*time.Second)
		pgqueue.SetTxRef(behind, func() (int64, int64) { return pid, txid })
		pgqueue.SetBeforeCommit(behind, proxy.freeze)
		defer proxy.cut()
		id, err := submit.Enqueue(ctx, behind, a, env, strings.NewReader(msg(1)))
		t.Logf("Enqueue = %q, %v", id, err)
		if err == nil {
			t.Fatalf("Enqueue = %q; want an error: the COMMIT never reached the database", id)
		}
		var one int
		if err := itx.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatalf("the other client's session was ended: %v", err)
		}
	})
}

// TestPostgresPgBouncerStatementMode: PgBouncer in statement pooling
// refuses transactions, and every enqueue, claim and migration is one:
// `queue init` and an enqueue fail with ErrPooler, a fix naming the pool
// modes that work, and not as the database being unavailable. Before, the
// refusal (SQLSTATE 08P01, "transaction blocks not allowed in statement
// pooling mode") was reported as an unavailable database ("check that
// PostgreSQL is running", exit 75): retried for ever.
func TestPostgresPgBouncerStatementMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct, url := bouncedDB(t, "statement")
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgqueue.Migrate(ctx, c)
	c.Close(ctx)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, pgqueue.ErrPooler) || errors.Is(err, pgqueue.ErrUnavailable) || !strings.Contains(err.Error(), "pool_mode") {
			t.Fatalf("%s through statement pooling: %v; want ErrPooler (not unavailable) naming pool_mode", what, err)
		}
	}
	check("Migrate", err)
	if _, err := pgqueue.Migrate(ctx, dial(t, direct)); err != nil {
		t.Fatal(err)
	}
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	_, err = submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(0)))
	check("Enqueue", err)
}

// TestPostgresPgBouncerMigrateConcurrent: `queue init` from several hosts
// at once through transaction pooling (2 server connections for 6
// clients): the advisory lock is taken per transaction
// (pg_advisory_xact_lock), which a transaction pooler keeps with the
// transaction's server connection, so every Migrate succeeds and exactly
// one of them creates the schema.
func TestPostgresPgBouncerMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := bouncedDB(t, "transaction")
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	from := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		c := dial(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			from[i], errs[i] = pgqueue.Migrate(ctx, c)
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d of %d at once through PgBouncer: %v", i+1, n, err)
		}
		if from[i] == 0 {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d of the Migrates found no schema, want exactly 1 (the others wait for its lock and find it made)", created)
	}
	openPG(t, url, pgqueue.Options{})
}
