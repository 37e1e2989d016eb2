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

// queueBouncedDB is bouncedDBSize (size 0: bouncedDB's size for mode)
// with the queue's schema, migrated in directly.
func queueBouncedDB(t *testing.T, mode string, size int) (direct, bounced string) {
	t.Helper()
	if size == 0 {
		direct, bounced = bouncedDB(t, mode)
	} else {
		direct, bounced = bouncedDBSize(t, mode, size)
	}
	if _, err := pgqueue.Migrate(context.Background(), dial(t, direct)); err != nil {
		t.Fatal(err)
	}
	return direct, bounced
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
				r := openItem(t, q, gone)
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
	direct, url := queueBouncedDB(t, "transaction", 0)
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
			_, url := queueBouncedDB(t, tt.mode, 0)
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
	direct, url := queueBouncedDB(t, "transaction", 3)
	_, a := startServer(t)
	count := openPG(t, direct, pgqueue.Options{})
	t.Run("own transaction", func(t *testing.T) {
		// The bound on commitLost's question (10 s) is well above the
		// idle timeout (1 s): an answer within it comes from the end of
		// the transaction, not from the bound.
		proxy, behind := commitLostQueue(t, url, 10*time.Second, 2*time.Second)
		pgqueue.SetIdleTx(behind, time.Second)
		pgqueue.SetBeforeCommit(behind, proxy.freeze)
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
		enqueueLostSpares(t, proxy, behind, a, 1, itx, "the other client's session")
	})
}

// TestPostgresPgBouncerStatementMode: PgBouncer in statement pooling
// refuses transactions, and every enqueue, claim and migration is one:
// `queue init` and Open fail with ErrPooler, a fix naming the pool modes
// that work, and not as the database being unavailable. Before, the
// refusal (SQLSTATE 08P01, "transaction blocks not allowed in statement
// pooling mode") was reported as an unavailable database ("check that
// PostgreSQL is running", exit 75): retried for ever. And before Open
// tried a transaction, Open succeeded, so a worker (`queue run --watch`)
// went on failing every pass, for ever, instead of stopping with the fix
// (cmd/tlsmail's TestQueuePostgresPgBouncerStatementWatch).
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
	for _, qm := range []string{"", "&default_query_exec_mode=exec"} {
		q, err := pgqueue.Open(ctx, url+qm, pgqueue.Options{})
		if err == nil {
			q.Close()
		}
		check("Open"+qm, err)
	}
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

// TestPostgresPgBouncerIdleTimeoutScope: the idle timeout an enqueue sets
// for the lost-COMMIT check is its own transaction's alone. Through
// PgBouncer in transaction pooling with one server connection (every
// client shares the backend): after Enqueue, another client's session on
// that backend has the server's setting; and EnqueueTx, in the caller's
// transaction, sets nothing there (the caller's transaction may wait for
// its own work between statements for as long as it likes).
func TestPostgresPgBouncerIdleTimeoutScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := queueBouncedDB(t, "transaction", 1)
	other := dial(t, url)
	show := func(c rowQuerier) string {
		t.Helper()
		var v string
		if err := c.QueryRow(ctx, `SHOW idle_in_transaction_session_timeout`, pgx.QueryExecModeSimpleProtocol).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := show(other)
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(0))); err != nil {
		t.Fatal(err)
	}
	if got := show(other); got != want {
		t.Errorf("after an Enqueue, another client's session on the shared backend has idle_in_transaction_session_timeout %s, want %s", got, want)
	}
	acct := a.Stored()
	data, _ := json.Marshal(&acct)
	tx, err := q.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := q.EnqueueTx(ctx, tx, env, outbox.Data{Settings: data}, strings.NewReader(msg(1))); err != nil {
		t.Fatal(err)
	}
	if got := show(tx); got != want {
		t.Errorf("in the caller's transaction after EnqueueTx, idle_in_transaction_session_timeout is %s, want %s (the server's)", got, want)
	}
}

// TestPostgresPgBouncerListenWarnAfterLoss: a worker whose first LISTEN
// connection fails (here the pooler refuses connections for a moment: a
// restart, max_client_conn reached) and whose next one goes through
// transaction pooling still gets the warning that enqueues will not wake
// it, with what to do. Before, the warning shared "said once" with the
// lost-channel message: after a first failure it was never written.
func TestPostgresPgBouncerListenWarnAfterLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := queueBouncedDB(t, "transaction", 0)
	var mu sync.Mutex
	var logs []string
	text := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(logs, "\n") }
	proxy, q := behindProxy(t, url, pgqueue.Options{ListenCheck: 2 * time.Second, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	proxy.refuse(true)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { q.Listen(lctx, func() {}); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(text(), "lost the notification channel"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Listen did not report the refused connection within 20 s: %q", text())
		}
	}
	proxy.refuse(false)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(text(), ErrNotifyPooledText); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning within 20 s that notifications do not come through the pooler: %q", text())
		}
	}
	if s := text(); !strings.Contains(s, "pool_mode=session") {
		t.Fatalf("the warning does not say what to do: %s", s)
	}
}

// TestPostgresEnqueueStalledBeforeCommit: an enqueue whose client stalls
// between its INSERT and its COMMIT for longer than the idle timeout the
// enqueue sets for its transaction (a stopped process, a suspended VM, a
// network that stalls; here the seam before the COMMIT sleeps past a
// 1 s timeout) is ended by the server, directly and through PgBouncer in
// transaction pooling. The enqueue reports what happened, that nothing
// was queued, and to try again (ErrUnavailable: a passing condition,
// exit 75), and nothing is queued. Before, it was "the queue database
// refused the statement ... see the PostgreSQL server's log for the
// statement's error", as for a statement the database rejects.
func TestPostgresEnqueueStalledBeforeCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct, url := queueBouncedDB(t, "transaction", 0)
	count := openPG(t, direct, pgqueue.Options{})
	_, a := startServer(t)
	for _, tt := range []struct{ name, url string }{{"direct", direct}, {"pgbouncer", url}} {
		t.Run(tt.name, func(t *testing.T) {
			q := openPG(t, tt.url, pgqueue.Options{})
			pgqueue.SetIdleTx(q, time.Second)
			pgqueue.SetBeforeCommit(q, func() { time.Sleep(2500 * time.Millisecond) })
			id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(0)))
			if err == nil || !errors.Is(err, pgqueue.ErrUnavailable) || !strings.Contains(err.Error(), "idle_in_transaction_session_timeout") || !strings.Contains(err.Error(), "try again") {
				t.Fatalf("Enqueue = %q, %v; want ErrUnavailable naming idle_in_transaction_session_timeout and to try again", id, err)
			}
			if n, err := count.Count(); err != nil || n != 0 {
				t.Fatalf("%d items queued (%v); want none", n, err)
			}
		})
	}
}

// TestPostgresPgBouncerProbeWakesNoWorker: the probe a worker behind
// transaction pooling sends itself (a notification on the queue's channel
// with a payload of its own) reaches every worker that listens directly,
// and wakes none of them: only an enqueue's notification (empty payload)
// starts a pass. Shown to fail with the payload check removed from
// listen (each probe then woke every worker).
func TestPostgresPgBouncerProbeWakesNoWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct, url := queueBouncedDB(t, "transaction", 0)
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	woke := make(chan struct{}, 100)
	dq := openPG(t, direct, pgqueue.Options{})
	wg.Add(1)
	go func() { defer wg.Done(); dq.Listen(lctx, func() { woke <- struct{}{} }) }()
	_, a := startServer(t)
	// The direct worker listens: an enqueue wakes it.
	for i := 0; ; i++ {
		if _, err := submit.Enqueue(ctx, dq, a, env, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woke:
		case <-time.After(200 * time.Millisecond):
			if i > 50 {
				t.Fatal("the direct worker was not woken by an enqueue")
			}
			continue
		}
		break
	}
	for len(woke) > 0 {
		<-woke
	}
	var mu sync.Mutex
	warned := false
	bq := openPG(t, url, pgqueue.Options{ListenCheck: time.Second, Logf: func(f string, a ...any) {
		mu.Lock()
		warned = warned || strings.Contains(fmt.Sprintf(f, a...), ErrNotifyPooledText)
		mu.Unlock()
	}})
	wg.Add(1)
	go func() { defer wg.Done(); bq.Listen(lctx, func() {}) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		w := warned
		mu.Unlock()
		if w {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker behind transaction pooling did not probe and warn within 20 s")
		}
	}
	// The probe went out before the warning; give its delivery time.
	select {
	case <-woke:
		t.Fatal("the probe of the worker behind the pooler woke the worker that listens directly")
	case <-time.After(time.Second):
	}
}

// TestPostgresPgBouncerListenRetry: through transaction pooling, after
// the warning that notifications do not arrive, Listen tries LISTEN again
// only after its pooled retry wait (each try may leave a LISTEN behind on
// a server connection other clients share), not at the backoff's pace of
// 15 to 30 s. The wait is shortened to 2 s here: the second try comes
// between 1 and 10 s after the warning (before, the backoff's pace).
func TestPostgresPgBouncerListenRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := queueBouncedDB(t, "transaction", 0)
	var mu sync.Mutex
	var warned time.Time
	q := openPG(t, url, pgqueue.Options{ListenCheck: 2 * time.Second, Logf: func(f string, a ...any) {
		if strings.Contains(fmt.Sprintf(f, a...), ErrNotifyPooledText) {
			mu.Lock()
			warned = time.Now()
			mu.Unlock()
		}
	}})
	tries := make(chan time.Time, 10)
	pgqueue.SetListenTry(q, func() { tries <- time.Now() })
	pgqueue.SetPooledRetry(q, 2*time.Second)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { q.Listen(lctx, func() {}); close(done) }()
	defer func() { cancel(); <-done }()
	<-tries
	var second time.Time
	select {
	case second = <-tries:
	case <-time.After(20 * time.Second):
		t.Fatal("no second LISTEN within 20 s")
	}
	mu.Lock()
	w := warned
	mu.Unlock()
	if w.IsZero() {
		t.Fatal("tried again without the warning")
	}
	if d := second.Sub(w); d < time.Second || d > 10*time.Second {
		t.Fatalf("tried LISTEN again %s after the warning, want after the pooled retry's wait (1 to 2 s), within 10 s", d.Round(time.Millisecond))
	}
}

// TestPostgresPgBouncerEnqueueTxPrepared: EnqueueTx runs in the caller's
// transaction, on the caller's connection and in its query mode. Through
// PgBouncer in transaction pooling (one server connection) with pgx's
// default mode, the second caller's connection meets the statement the
// first prepared on the shared server connection (SQLSTATE 42P05): the
// error names default_query_exec_mode=exec and session pooling, as
// docs/queue-postgres.md says, and nothing is queued by it. A guard of
// refusedFix's prepared-statement case.
func TestPostgresPgBouncerEnqueueTxPrepared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := queueBouncedDB(t, "transaction", 1)
	q := openPG(t, url, pgqueue.Options{})
	var errs []error
	for i := range 2 {
		c := dial(t, url) // pgx's default mode: named, cached statements
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.EnqueueTx(ctx, tx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i)))
		if err == nil {
			err = tx.Commit(ctx)
		} else {
			tx.Rollback(ctx)
		}
		t.Logf("EnqueueTx on caller connection %d: %v", i+1, err)
		errs = append(errs, err)
	}
	if errs[0] != nil {
		t.Fatalf("the first caller's EnqueueTx: %v; want it queued", errs[0])
	}
	if err := errs[1]; err == nil || !strings.Contains(err.Error(), "default_query_exec_mode=exec") || !strings.Contains(err.Error(), "session pooling") {
		t.Fatalf("the second caller's EnqueueTx: %v; want the prepared-statement error with a fix naming default_query_exec_mode=exec and session pooling", err)
	}
	if n, err := q.Count(); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want the first caller's item only", n, err)
	}
}
