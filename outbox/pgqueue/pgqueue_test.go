package pgqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

var pg testpg.Cluster

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

var dbSeq atomic.Int64

// newDB creates a fresh database in the cluster, with the queue schema,
// and returns its URL.
func newDB(t testing.TB) string {
	t.Helper()
	base := pg.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(base, "/postgres?", "/"+name+"?", 1)
	c2, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if from, err := pgqueue.Migrate(ctx, c2); err != nil || from != 0 {
		t.Fatalf("Migrate = %d, %v; want 0, nil", from, err)
	}
	return url
}

// dial connects to url as the tests' own client (to set up triggers, read
// tables or change the schema behind the queue's back), closed when the
// test ends.
func dial(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func openPG(t *testing.T, url string, opts pgqueue.Options) *pgqueue.Queue {
	t.Helper()
	q, err := pgqueue.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func startServer(t testing.TB) (*server.Server, *submit.Account) {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{SMTPAddr: "127.0.0.1:0", Dir: testdir.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	port, _ := strconv.Atoi(p)
	return srv, &submit.Account{Host: "127.0.0.1", Port: port, Mode: smtp.StartTLS,
		Trust: submit.Trust{CAFile: srv.CAFile(), ServerName: "localhost"}, Timeout: 10 * time.Second}
}

// received waits until srv has at least n messages and returns how many it
// has and how many times it received each content.
func received(t testing.TB, ctx context.Context, srv *server.Server, n int) (int, map[string]int) {
	t.Helper()
	ms, err := srv.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range ms {
		b, _ := m.Data()
		seen[string(b)]++
	}
	return len(ms), seen
}

func deliverer() outbox.Deliverer {
	d := &submit.Deliverer{Connect: (&submit.Connector{}).Plan}
	return d.Deliver
}

var env = outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}}

func msg(i int) string {
	return fmt.Sprintf("Subject: %d\r\nMessage-ID: <%d@test>\r\n\r\nbody %d\r\n", i, i, i)
}

// stores are the two outbox.Store implementations the behaviour tests run
// against.
func stores(t *testing.T) map[string]func(t *testing.T) outbox.Store {
	return map[string]func(t *testing.T) outbox.Store{
		"dir": func(t *testing.T) outbox.Store {
			q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return q
		},
		"postgres": func(t *testing.T) outbox.Store { return openPG(t, newDB(t), pgqueue.Options{}) },
	}
}

// TestQueueStoreRoundTrip: on both stores, items enqueued are listed with
// their envelope, content and settings, delivered into the embedded server
// once each, and gone after the 250; a 5xx moves one to the failed items
// with the reason; a 4xx defers one with an attempt and a next attempt.
func TestQueueStoreRoundTrip(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q := open(t)
			srv, a := startServer(t)
			for i := range 3 {
				if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err != nil {
					t.Fatal(err)
				}
			}
			items, err := q.List()
			if err != nil || len(items) != 3 {
				t.Fatalf("List = %d items, %v; want 3", len(items), err)
			}
			rc, _ := items[1].Open()
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			var got submit.Account
			if err := jsonUnmarshal(items[1].Data(), &got); err != nil || b.String() != msg(1) || items[1].Envelope.To[0] != "b@example.net" || got.Host != "127.0.0.1" {
				t.Fatalf("item 1 = %q %+v %s (%v)", b.String(), items[1].Envelope, items[1].Data(), err)
			}
			if err := jsonUnmarshal(items[0].Data(), &got); err != nil || got.Port != a.Port {
				t.Fatalf("Data = %s (%v)", items[0].Data(), err)
			}
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Parallel: 2})
			if err != nil || st.Delivered != 3 {
				t.Fatalf("Run = %+v, %v; want 3 delivered", st, err)
			}
			if n, _ := q.Count(); n != 0 {
				t.Fatalf("Count after delivery = %d", n)
			}
			ms, _ := srv.Messages()
			if len(ms) != 3 {
				t.Fatalf("server got %d messages, want 3", len(ms))
			}

			// A permanent and a temporary failure.
			idP, _ := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(10)))
			idT, _ := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(11)))
			st, err = q.Run(ctx, outbox.RunConfig{Deliver: func(ctx context.Context, b []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
				for _, it := range b {
					if it.ID == idP {
						report(it, outbox.Result{Outcome: outbox.Permanent, Err: errors.New("550 no such user")})
					} else {
						report(it, outbox.Result{Outcome: outbox.Temporary, Err: errors.New("451 try later")})
					}
				}
				return nil
			}})
			if err != nil || st.Failed != 1 || st.Deferred != 1 || st.Next.IsZero() {
				t.Fatalf("Run = %+v, %v; want 1 failed, 1 deferred, a next attempt", st, err)
			}
			failed, _ := q.ListFailed()
			if len(failed) != 1 || failed[0].ID != idP || !strings.Contains(failed[0].Reason, "550") || !failed[0].Permanent {
				t.Fatalf("failed = %+v", failed)
			}
			it, err := q.Get(idT)
			if err != nil || it.Attempts != 1 || !strings.Contains(it.LastError, "451") || !it.NextAttempt.After(time.Now().Add(30*time.Second)) {
				t.Fatalf("deferred item = %+v, %v", it, err)
			}
			// Not due: a plain run leaves it; a forced one delivers it.
			if st, _ := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()}); st.Delivered != 0 || st.NotDue != 1 {
				t.Fatalf("Run before due = %+v", st)
			}
			if st, _ := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Force: true}); st.Delivered != 1 {
				t.Fatalf("forced Run = %+v", st)
			}
			if err := q.Remove(idP); err != nil {
				t.Fatal(err)
			}
			if err := q.Remove(idP); !errors.Is(err, outbox.ErrNotFound) {
				t.Fatalf("second Remove = %v, want ErrNotFound", err)
			}
			if n, _ := q.CountFailed(); n != 0 {
				t.Fatalf("CountFailed = %d", n)
			}
		})
	}
}

// TestPostgresConcurrentRunners: two Queues (two runners, as two hosts
// would have) run at once over 200 items: SKIP LOCKED claims give each item
// to one of them, so the server receives each message exactly once.
func TestPostgresConcurrentRunners(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	q1, q2 := openPG(t, url, pgqueue.Options{}), openPG(t, url, pgqueue.Options{})
	const n = 200
	for i := range n {
		if _, err := submit.Enqueue(ctx, q1, a, env, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var delivered [2]int
	for i, q := range []*pgqueue.Queue{q1, q2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Parallel: 2, BatchSize: 10})
			if err != nil {
				t.Error(err)
			}
			delivered[i] = st.Delivered
		}()
	}
	wg.Wait()
	if delivered[0]+delivered[1] != n {
		t.Fatalf("delivered %v, want %d in all", delivered, n)
	}
	got, seen := received(t, ctx, srv, n)
	for i := range n {
		if c := seen[msg(i)]; c != 1 {
			t.Errorf("message %d received %d times", i, c)
		}
	}
	if got != n {
		t.Errorf("server got %d messages, want %d", got, n)
	}
}

// TestPostgresLeaseExpiry: a runner that claimed an item and died (Claim,
// then nothing) holds it until its lease ends: another runner finds it
// busy (and Remove refuses it), then delivers it once the lease is over.
func TestPostgresLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	dead := openPG(t, url, pgqueue.Options{Lease: 2 * time.Second})
	live := openPG(t, url, pgqueue.Options{})
	id, err := submit.Enqueue(ctx, dead, a, env, strings.NewReader(msg(1)))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := dead.Claim(ctx, 10, false, nil, time.Now().Add(time.Hour)); err != nil || len(b) != 1 {
		t.Fatalf("Claim = %d items, %v", len(b), err)
	}
	st, err := live.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Delivered != 0 || st.Busy != 1 {
		t.Fatalf("Run during the lease = %+v, %v; want 1 busy", st, err)
	}
	if err := live.Remove(id); !errors.Is(err, outbox.ErrBusy) {
		t.Fatalf("Remove during the lease = %v, want ErrBusy", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err = live.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
		if err != nil {
			t.Fatal(err)
		}
		if st.Delivered == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead runner's item never came back")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := srv.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresEnqueueTx: an item queued in the caller's transaction exists
// only if the transaction commits.
func TestPostgresEnqueueTx(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	data := outbox.Data{Settings: []byte(`{"host":"h","port":25}`)}
	for _, commit := range []bool{false, true} {
		tx, err := q.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.EnqueueTx(ctx, tx, env, data, strings.NewReader(msg(1))); err != nil {
			t.Fatal(err)
		}
		if n, _ := q.Count(); n != 0 {
			t.Fatalf("an uncommitted item is visible (%d)", n)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if commit {
			want = 1
		}
		if n, _ := q.Count(); n != want {
			t.Fatalf("commit=%v: %d items, want %d", commit, n, want)
		}
	}
}

// TestPostgresNotifyWakesWorker: a Worker with an hour's interval delivers
// an item another Queue (another process) enqueued: only the NOTIFY of the
// enqueue can wake it before the test's deadline.
//
// The item is queued once the Worker's first (empty) pass has ended and its
// LISTEN is in place, as the database shows it; a fixed pause (300 ms)
// before let a slow machine queue it first, with nobody listening yet.
func TestPostgresNotifyWakesWorker(t *testing.T) {
	url := newDB(t)
	_, a := startServer(t)
	results := make(chan outbox.Outcome, 4)
	passes := make(chan struct{}, 16)
	q := openPG(t, url, pgqueue.Options{})
	w := &submit.Worker{Queue: q, Interval: time.Hour,
		Pass: func(ctx context.Context) (outbox.Stats, error) {
			defer func() { passes <- struct{}{} }()
			return submit.RunPass(ctx, q, submit.PassConfig{OnResult: func(it *outbox.Item, r outbox.Result, _ *submit.Sent) { results <- r.Outcome }})
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	select {
	case <-passes:
	case <-time.After(30 * time.Second):
		t.Fatal("the Worker's first pass did not end")
	}
	waitListening(t, url)
	other := openPG(t, url, pgqueue.Options{})
	if _, err := submit.Enqueue(context.Background(), other, a, env, strings.NewReader(msg(1))); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-results:
		if o != outbox.Delivered {
			t.Fatalf("outcome %v", o)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the NOTIFY of another process's enqueue did not wake the Worker")
	}
}

// waitListening waits until a session in the database at url has run
// LISTEN and is idle (LISTEN takes effect when it commits).
func waitListening(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'idle' AND query LIKE 'LISTEN %'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the Worker did not LISTEN within 30 s")
		}
	}
}

// TestPostgresNoSecretStored: an account whose password is in an
// environment variable is queued, deferred and failed; no table's text
// holds the password, only the variable's name.
func TestPostgresNoSecretStored(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	const secret = "s3cret-Pa55-word"
	t.Setenv("TLSMAIL_TEST_PG_PASS", secret)
	_, a := startServer(t)
	a.Auth = submit.Auth{Mechanism: "PLAIN", User: "ann", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "TLSMAIL_TEST_PG_PASS"}}
	for i := range 2 {
		if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	// A delivery attempt reads the secret (the server refuses AUTH or
	// the deliverer fails): whatever is recorded must not hold it.
	q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	items, _ := q.List()
	if len(items) > 0 {
		q.Fail(ctx, items[0].ID, "test", true)
	}
	conn := dial(t, url)
	var dump string
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM (
		SELECT o::text AS t FROM tlsmail.outbox o UNION ALL SELECT m::text FROM tlsmail.message m
		UNION ALL SELECT f::text FROM tlsmail.failed f
		UNION ALL SELECT s::text FROM tlsmail.schema_version s) x`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump, "TLSMAIL_TEST_PG_PASS") {
		t.Fatalf("the dump does not show the secret's reference; the test reads the wrong tables:\n%s", dump)
	}
	if strings.Contains(dump, secret) {
		t.Fatal("a table holds the password")
	}
}

// TestPostgresMigrate: Migrate is idempotent; Open refuses a database
// without the schema, saying to run queue init; an oversized message is
// refused at enqueue with a clear error and nothing stored.
func TestPostgresMigrate(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	if from, err := pgqueue.Migrate(ctx, conn); err != nil || from != pgqueue.SchemaVersion {
		t.Fatalf("second Migrate = %d, %v", from, err)
	}
	if _, err := conn.Exec(ctx, `DROP SCHEMA tlsmail CASCADE`); err != nil {
		t.Fatal(err)
	}
	_, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if !errors.Is(err, pgqueue.ErrNoSchema) || !strings.Contains(err.Error(), "pgqueue.Migrate") {
		t.Fatalf("Open without schema = %v", err)
	}
	pgqueue.Migrate(ctx, conn)
	q := openPG(t, url, pgqueue.Options{MaxSize: 100})
	_, err = q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(strings.Repeat("x", 101)))
	if !errors.Is(err, pgqueue.ErrTooLarge) || !errors.Is(err, outbox.ErrTooLarge) || !strings.Contains(err.Error(), "limit of 100 bytes") {
		t.Fatalf("oversized enqueue = %v", err)
	}
	if n, _ := q.Count(); n != 0 {
		t.Fatalf("%d items after a refused enqueue", n)
	}
}

// TestPostgresUnreachable: a database that does not answer gives
// ErrUnavailable at Open, without the URL's password in the message.
func TestPostgresUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = pgqueue.Open(ctx, "postgres://u:hunter2@"+addr+"/db?sslmode=disable&connect_timeout=5", pgqueue.Options{})
	if !errors.Is(err, pgqueue.ErrUnavailable) {
		t.Fatalf("Open = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestPostgresRestart: PostgreSQL restarted (connections cut) while a
// Worker delivers: the Worker goes on, its passes and LISTEN reconnect, and
// every message, queued before and after the restart, is delivered; none
// is left.
func TestPostgresRestart(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	q := openPG(t, url, pgqueue.Options{Lease: 3 * time.Second})
	const n = 100
	for i := range n / 2 {
		if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	w := &submit.Worker{Queue: q, Interval: time.Second, OnError: func(err error) { t.Logf("worker: %v", err) }}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(20 * time.Millisecond)
	pg.Restart(t)
	var err error
	for i := n / 2; i < n; i++ {
		for try := 0; ; try++ { // the pool reconnects at the next call
			if _, err = submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(i))); err == nil || try == 20 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := q.Count(); err == nil && c == 0 {
			break
		}
		if time.Now().After(deadline) {
			c, err := q.Count()
			t.Fatalf("%d messages still queued (%v) a minute after the restart", c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, seen := received(t, ctx, srv, n)
	for i := range n {
		if seen[msg(i)] == 0 {
			t.Errorf("message %d never arrived", i)
		}
	}
	t.Logf("%d messages received for %d queued", got, n)
}

// TestQueueStoreConcurrent: on both stores, two enqueuers and two runners
// (each with its own handle on the store, as separate processes have) work
// at once; every message reaches the server exactly once and none is left.
// Meant for -race as much as for the count.
func TestQueueStoreConcurrent(t *testing.T) {
	handles := map[string]func(t *testing.T) func() outbox.Store{
		"dir": func(t *testing.T) func() outbox.Store {
			dir := filepath.Join(testdir.New(t), "q")
			return func() outbox.Store {
				q, err := outbox.Open(dir, outbox.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
		},
		"postgres": func(t *testing.T) func() outbox.Store {
			url := newDB(t)
			return func() outbox.Store { return openPG(t, url, pgqueue.Options{}) }
		},
	}
	for name, mk := range handles {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			open := mk(t)
			srv, a := startServer(t)
			const per = 100
			var enq sync.WaitGroup
			for e := range 2 {
				q := open()
				enq.Add(1)
				go func() {
					defer enq.Done()
					for i := range per {
						if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(e*per+i))); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			enqDone := make(chan struct{})
			go func() { enq.Wait(); close(enqDone) }()
			var run sync.WaitGroup
			for range 2 {
				q := open()
				run.Add(1)
				go func() {
					defer run.Done()
					deadline := time.Now().Add(time.Minute)
					for time.Now().Before(deadline) {
						finished := false
						select {
						case <-enqDone:
							finished = true
						default:
						}
						if _, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer(), Parallel: 2}); err != nil {
							t.Error(err)
							return
						}
						if finished {
							if n, _ := q.Count(); n == 0 {
								return
							}
						}
						time.Sleep(10 * time.Millisecond)
					}
					t.Error("the runners did not empty the queue within a minute")
				}()
			}
			run.Wait()
			_, seen := received(t, ctx, srv, 2*per)
			for i := range 2 * per {
				if c := seen[msg(i)]; c != 1 {
					t.Errorf("message %d received %d times", i, c)
				}
			}
		})
	}
}

// TestPostgresNewerSchema: a database whose schema is newer than this
// program's (a newer tlsmail migrated it) is refused by Open and by
// Migrate with ErrNewerSchema, whose fix is a newer program, not
// Migrate (which cannot downgrade), and nothing is changed.
func TestPostgresNewerSchema(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	newer := pgqueue.SchemaVersion + 1
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.schema_version SET version = $1`, newer); err != nil {
		t.Fatal(err)
	}
	_, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	var oe *pgqueue.Error
	if !errors.Is(err, pgqueue.ErrNewerSchema) || !errors.Is(err, pgqueue.ErrNoSchema) || !errors.As(err, &oe) ||
		strings.Contains(oe.Fix, "Migrate") || !strings.Contains(oe.Fix, "newer") {
		t.Fatalf("Open on a newer schema = %v", err)
	}
	from, err := pgqueue.Migrate(ctx, conn)
	if from != newer || !errors.Is(err, pgqueue.ErrNewerSchema) {
		t.Fatalf("Migrate on a newer schema = %d, %v", from, err)
	}
	var v int
	if err := conn.QueryRow(ctx, `SELECT version FROM tlsmail.schema_version`).Scan(&v); err != nil || v != newer {
		t.Fatalf("version after the refusals = %d, %v", v, err)
	}
}

// TestPostgresRefusedFix: when the server refuses the connection or a
// statement for a reason of its own (a database that does not exist, a
// role without the rights the statement needs), the error names what to
// check, for the command line to show: before, it had no fix at all and
// tlsmail printed the spool directory's ("check the outbox directory's
// permissions and free space").
func TestPostgresRefusedFix(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	role := fmt.Sprintf("enqueue_only_%d", os.Getpid())
	for _, sql := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA tlsmail TO ` + role,
		`GRANT SELECT ON tlsmail.schema_version TO ` + role,
		`GRANT INSERT ON tlsmail.outbox TO ` + role,
		`GRANT INSERT ON tlsmail.message TO ` + role,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Run("no such database", func(t *testing.T) {
		i := strings.LastIndex(url, "/")
		_, err := pgqueue.Open(ctx, url[:i+1]+"nosuch"+url[i+1:], pgqueue.Options{})
		var oe *pgqueue.Error
		if !errors.As(err, &oe) || !strings.Contains(oe.Fix, "database name") {
			t.Fatalf("Open of a database that does not exist = %v", err)
		}
	})
	t.Run("no right to claim", func(t *testing.T) {
		q := openPG(t, strings.Replace(url, "//tlsmail@", "//"+role+"@", 1), pgqueue.Options{})
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(0))); err != nil {
			t.Fatal(err)
		}
		_, err := q.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour))
		var oe *pgqueue.Error
		if !errors.As(err, &oe) || !strings.Contains(oe.Fix, "GRANT") || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("Claim without the right = %v", err)
		}
	})
}

// TestPostgresCompleteRetriesDeadlock: the group delete that records a
// 250 is retried when the server aborts it as a deadlock victim (SQLSTATE
// 40P01: the lease renewal's UPDATE and the delete lock the same rows,
// possibly in different orders) — PostgreSQL's documented answer to a
// deadlock is to try again. Before, only an unreachable database was
// retried: the delivered item stayed queued and was sent again when its
// lease ended, a duplicate with no worker dead. A trigger stands in for
// the deadlock detector: it aborts the first DELETE with 40P01.
func TestPostgresCompleteRetriesDeadlock(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `CREATE SEQUENCE public.deletes;
		CREATE FUNCTION public.deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('public.deletes') = 1 THEN
				RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = 'deadlock_detected';
			END IF;
			RETURN OLD;
		END $$;
		CREATE TRIGGER deadlock_once BEFORE DELETE ON tlsmail.outbox FOR EACH ROW EXECUTE FUNCTION public.deadlock_once();`); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	q := openPG(t, url, pgqueue.Options{Logf: func(f string, args ...any) { mu.Lock(); fmt.Fprintf(&logs, f+"\n", args...); mu.Unlock() }})
	if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(1))); err != nil {
		t.Fatal(err)
	}
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Delivered != 1 {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	if _, err := srv.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Count(); err != nil || n != 0 {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d items left queued after their 250 (%v); logs:\n%s", n, err, logs.String())
	}
}

// TestPostgresStaleRunnerResult: a runner whose lease ran out (frozen, cut
// off from the database) and whose item another runner has claimed since
// must not settle that item under the new holder: its Defer gave the new
// holder's lease back (so a third runner could claim the item while the
// second delivered it: a duplicate with no runner dead) and its Fail
// moved the item being delivered to the failed table.
func TestPostgresStaleRunnerResult(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	stale := openPG(t, url, pgqueue.Options{Lease: time.Second})
	holder := openPG(t, url, pgqueue.Options{})
	for i := range 2 {
		if _, err := stale.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatal(err)
		}
	}
	old, err := stale.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour))
	if err != nil || len(old) != 2 {
		t.Fatalf("stale Claim = %d items, %v", len(old), err)
	}
	time.Sleep(1500 * time.Millisecond) // the stale runner's lease ends
	now, err := holder.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour))
	if err != nil || len(now) != 2 {
		t.Fatalf("holder Claim = %d items, %v", len(now), err)
	}
	if _, err := stale.Defer(ctx, old[0], "451 from the stale runner", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := stale.Fail(ctx, old[1].ID, "550 from the stale runner", true); err != nil {
		t.Fatal(err)
	}
	for _, it := range old {
		var owner *string
		var attempts int
		if err := holder.Pool().QueryRow(ctx, `SELECT lease_owner, attempts FROM tlsmail.outbox WHERE id = $1`, it.ID).Scan(&owner, &attempts); err != nil {
			t.Fatalf("item %s: %v (moved away under its new holder)", it.ID, err)
		}
		if owner == nil || *owner != holder.Owner() || attempts != 0 {
			t.Errorf("item %s: lease owner %v, %d attempts; want the holder's lease untouched", it.ID, owner, attempts)
		}
	}
	if n, _ := holder.CountFailed(); n != 0 {
		t.Errorf("%d failed items", n)
	}
}

// TestParseConfigTLS: a queue database reached over the network without
// an sslmode anywhere is verified (verify-full: a certificate checked
// against the name, no plaintext fallback) instead of libpq's "prefer",
// which took any certificate and fell back to plaintext; a local
// connection and an sslmode given by the URL or PGSSLMODE are as written.
func TestParseConfigTLS(t *testing.T) {
	tests := []struct {
		name, url, env string
		verified       bool // TLS required and the certificate verified
	}{
		{"remote URL", "postgres://u@db.example.net/q", "", true},
		{"remote URL with parameters", "postgres://u@db.example.net/q?connect_timeout=5", "", true},
		{"remote keywords", "host=db.example.net user=u dbname=q", "", true},
		{"one remote host of two", "postgres://u@127.0.0.1,db.example.net/q", "", true},
		{"remote, a database named like a keyword", "postgres://u@db.example.net/customer_service_sslmode", "", true},
		{"remote keywords, a database named like a keyword", "host=db.example.net dbname=sslmode_service", "", true},
		{"remote, sslmode disable", "postgres://u@db.example.net/q?sslmode=disable", "", false},
		{"remote, sslmode empty (libpq's default)", "postgres://u@db.example.net/q?sslmode=", "", true},
		{"remote keywords, sslmode empty", "host=db.example.net sslmode=''", "", true},
		{"remote keywords, sslmode disable", "host=db.example.net sslmode = disable", "", false},
		{"remote, PGSSLMODE disable", "postgres://u@db.example.net/q", "disable", false},
		// A '?' in the user information (a password's, which libpq and
		// pgx end at the '@') does not start the query.
		{"remote, a password holding ?sslmode=", "postgres://u:x?sslmode=disable@db.example.net/q", "", true},
		{"remote, a password holding ?, sslmode disable", "postgres://u:x?y@db.example.net/q?sslmode=disable", "", false},
		{"remote URL, an empty query", "postgres://u@db.example.net/q?", "", true},
		{"remote URL, a query ending in &", "postgres://u@db.example.net/q?connect_timeout=5&", "", true},
		// libpq's user part ends at the first '@' before any '/', and may
		// hold a '?': the query starts after it (before, the verify-full
		// default was added to the database's name, and TLS was "prefer").
		{"remote, a '?' in the password", "postgres://u:p?x=1@db.example.net/q", "", true},
		{"remote, a '?' in the password, no '='", "postgres://u:p?x@db.example.net/q", "", true},
		{"remote, a user named like a parameter", "postgres://u?sslmode=x@db.example.net/q", "", true},
		{"remote, a '?' in the password and a query", "postgres://u:p?x=1@db.example.net/q?connect_timeout=5", "", true},
		{"loopback", "postgres://u@127.0.0.1/q", "", false},
		{"socket", "host=/run/postgresql user=u dbname=q", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGSSLMODE", tt.env)
			t.Setenv("PGSERVICE", "")
			cfg, err := pgqueue.ParseConfig(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			c := cfg.ConnConfig
			verified := c.TLSConfig != nil && !c.TLSConfig.InsecureSkipVerify
			for _, f := range c.Fallbacks {
				verified = verified && f.TLSConfig != nil && !f.TLSConfig.InsecureSkipVerify
			}
			if verified != tt.verified {
				t.Fatalf("%s: TLS verified = %v, want %v", tt.url, verified, tt.verified)
			}
			if strings.Contains(tt.url, "/q") && c.Database != "q" {
				t.Fatalf("%s: database %q, want q", tt.url, c.Database)
			}
		})
	}
}

// TestParseConfigTLSService: docs/queue-postgres.md, a remote database is
// verified (verify-full) unless the URL, the named service's entry or
// PGSSLMODE sets sslmode. A service (PGSERVICE, service=) whose entry sets
// no sslmode is verified too: before, naming any service kept libpq's
// "prefer" (any certificate, plaintext fallback). The service is found as
// libpq finds it: PGSERVICEFILE or ~/.pg_service.conf, then
// PGSYSCONFDIR/pg_service.conf (which pgx alone does not read: before,
// such a service was an unreadable URL); one defined nowhere is an error
// naming the files looked in.
func TestParseConfigTLSService(t *testing.T) {
	dir := testdir.New(t)
	write := func(name, text string) string {
		f := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	user := write("user/pg_service.conf", "[plain]\nhost=db.example.net\nsslmode=disable\n"+
		"[bare]\nhost=db.example.net\ndbname=q\n[local]\nhost=127.0.0.1\n[emptymode]\nhost=db.example.net\nsslmode=\n")
	home := filepath.Join(dir, "home")
	write("home/.pg_service.conf", "[homebare]\nhost=db.example.net\n")
	sys := filepath.Join(dir, "sys")
	write("sys/pg_service.conf", "[sysbare]\nhost=db.example.net\n[sysplain]\nhost=db.example.net\nsslmode=disable\n[bare]\nhost=db.example.net\nsslmode=disable\n")
	other := write("other/svc.conf", "[bare]\nhost=db.example.net\nsslmode=disable\n")
	t.Setenv("HOME", home)
	// Windows: the home directory is USERPROFILE, and %APPDATA%'s file
	// (absent here) comes first, as pgx reads them.
	t.Setenv("USERPROFILE", home)
	t.Setenv("APPDATA", filepath.Join(dir, "appdata"))
	for _, tt := range []struct {
		name, url, service, servicefile, sslmode string
		verified                                 bool
		err                                      string // an error naming this, instead
	}{
		{name: "PGSERVICE sets sslmode disable", url: "postgres://u@db.example.net/q", service: "plain", servicefile: user},
		{name: "service= in the URL sets sslmode disable", url: "postgres://u@db.example.net/q?service=plain", servicefile: user},
		{name: "PGSERVICE without sslmode", url: "postgres://u@db.example.net/q", service: "bare", servicefile: user, verified: true},
		{name: "service= without sslmode", url: "postgres://u@/q?service=bare", servicefile: user, verified: true},
		{name: "service= without sslmode, keywords", url: "service=bare user=u", servicefile: user, verified: true},
		{name: "service= without sslmode, quoted keyword", url: "service = 'bare' user=u", servicefile: user, verified: true},
		{name: "service without sslmode, PGSSLMODE disable", url: "service=bare user=u", servicefile: user, sslmode: "disable"},
		{name: "service without sslmode, loopback host", url: "service=local user=u", servicefile: user},
		{name: "service in ~/.pg_service.conf", url: "service=homebare user=u", verified: true},
		{name: "service in PGSYSCONFDIR, no sslmode", url: "service=sysbare user=u", servicefile: user, verified: true},
		{name: "service in PGSYSCONFDIR sets sslmode disable", url: "postgres://u@/q?service=sysplain", servicefile: user},
		{name: "the user's file first", url: "service=bare user=u", servicefile: user, verified: true},
		{name: "servicefile= in the string", url: "service=bare servicefile=" + other + " user=u", servicefile: user},
		{name: "service with an empty sslmode (libpq's default)", url: "service=emptymode user=u", servicefile: user, verified: true},
		{name: "the URL's sslmode over the service's", url: "postgres://u@/q?service=plain&sslmode=verify-full", servicefile: user, verified: true},
		{name: "the service's sslmode over PGSSLMODE", url: "service=plain user=u", servicefile: user, sslmode: "verify-full"},
		{name: "service defined nowhere", url: "service=nowhere user=u", servicefile: user, err: "nowhere"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGSERVICE", tt.service)
			t.Setenv("PGSERVICEFILE", tt.servicefile)
			t.Setenv("PGSYSCONFDIR", sys)
			t.Setenv("PGSSLMODE", tt.sslmode)
			cfg, err := pgqueue.ParseConfig(tt.url)
			if tt.err != "" {
				var oe *outbox.Error
				if !errors.As(err, &oe) || !errors.Is(err, pgqueue.ErrService) || !strings.Contains(oe.Msg, tt.err) ||
					!strings.Contains(err.Error(), user) || !strings.Contains(err.Error(), sys) || !strings.Contains(oe.Fix, "PGSERVICEFILE") {
					t.Fatalf("%s: err = %v; want an *outbox.Error (pgqueue.ErrService) naming %q and the files looked in, with a fix", tt.url, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := cfg.ConnConfig
			if c.Host != "db.example.net" && c.Host != "127.0.0.1" {
				t.Fatalf("%s: host %q: the service's entry was not read", tt.url, c.Host)
			}
			verified := c.TLSConfig != nil && !c.TLSConfig.InsecureSkipVerify
			for _, f := range c.Fallbacks {
				verified = verified && f.TLSConfig != nil && !f.TLSConfig.InsecureSkipVerify
			}
			if verified != tt.verified {
				t.Fatalf("%s with service %q: TLS verified = %v, want %v", tt.url, tt.service, verified, tt.verified)
			}
		})
	}
}

// TestParseConfigServiceAppData: on Windows the user's service file is
// %APPDATA%\postgresql\.pg_service.conf, read before ~/.pg_service.conf
// (as pgx reads them): its entry without sslmode gets verify-full, and
// its sslmode=disable is honoured over the home directory's file. (Under
// Wine; elsewhere the file is not looked at.)
func TestParseConfigServiceAppData(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("%APPDATA% is where Windows keeps the user's service file")
	}
	dir := testdir.New(t)
	appData := filepath.Join(dir, "appdata")
	home := filepath.Join(dir, "home")
	for f, text := range map[string]string{
		filepath.Join(appData, "postgresql", ".pg_service.conf"): "[appbare]\nhost=db.example.net\n[both]\nhost=db.example.net\nsslmode=disable\n",
		filepath.Join(home, ".pg_service.conf"):                  "[both]\nhost=db.example.net\n",
	} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("APPDATA", appData)
	t.Setenv("USERPROFILE", home)
	t.Setenv("HOME", home)
	t.Setenv("PGSERVICE", "")
	t.Setenv("PGSERVICEFILE", "")
	t.Setenv("PGSYSCONFDIR", filepath.Join(dir, "none"))
	t.Setenv("PGSSLMODE", "")
	for _, tt := range []struct {
		url      string
		verified bool
	}{
		{"service=appbare user=u", true},
		{"service=both user=u", false}, // %APPDATA%'s entry, not the home directory's
	} {
		cfg, err := pgqueue.ParseConfig(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		c := cfg.ConnConfig
		if c.Host != "db.example.net" {
			t.Fatalf("%s: host %q: the service's entry was not read", tt.url, c.Host)
		}
		verified := c.TLSConfig != nil && !c.TLSConfig.InsecureSkipVerify
		for _, f := range c.Fallbacks {
			verified = verified && f.TLSConfig != nil && !f.TLSConfig.InsecureSkipVerify
		}
		if verified != tt.verified {
			t.Errorf("%s: TLS verified = %v, want %v", tt.url, verified, tt.verified)
		}
	}
}

// TestPostgresServiceNoPlaintext: a queue URL naming a service whose entry
// sets no sslmode, for a database reached by name over the network (the
// test's name resolves to the private cluster, which speaks no TLS): the
// connection is refused instead of falling back to plaintext, as libpq's
// "prefer" did (before: Open succeeded, in plaintext). The same service
// with sslmode=disable in its entry connects, so the refusal is TLS's.
func TestPostgresServiceNoPlaintext(t *testing.T) {
	base := newDB(t)
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(testdir.New(t), "pg_service.conf")
	entry := fmt.Sprintf("host=db.example.net\nport=%d\nuser=%s\ndbname=%s\nconnect_timeout=10\n", cfg.Port, cfg.User, cfg.Database)
	if err := os.WriteFile(file, []byte("[q]\n"+entry+"[qplain]\n"+entry+"sslmode=disable\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGSERVICEFILE", file)
	t.Setenv("PGSSLMODE", "")
	t.Setenv("PGSERVICE", "")
	for _, tt := range []struct {
		service string
		connect bool
	}{{"q", false}, {"qplain", true}} {
		pc, err := pgqueue.ParseConfig("service=" + tt.service)
		if err != nil {
			t.Fatal(err)
		}
		c := pc.ConnConfig
		toCluster := func(ctx context.Context, host string) ([]string, error) { return []string{"127.0.0.1"}, nil }
		c.LookupFunc = toCluster
		for _, f := range c.Fallbacks {
			if f.Host != "db.example.net" {
				t.Fatalf("fallback to %q", f.Host)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		conn, err := pgx.ConnectConfig(ctx, c)
		cancel()
		if err == nil {
			var ssl bool
			conn.QueryRow(context.Background(), `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl)
			conn.Close(context.Background())
			if !tt.connect {
				t.Fatalf("service %q without sslmode: connected to a server without TLS (ssl %v): plaintext fallback", tt.service, ssl)
			}
			continue
		}
		if tt.connect {
			t.Fatalf("service %q: %v", tt.service, err)
		}
		if !strings.Contains(err.Error(), "TLS") {
			t.Fatalf("service %q: %v; want a refusal for want of TLS", tt.service, err)
		}
	}
}

// TestPostgresOpenLargeMemory: opening a queued message larger than what
// comes with the claim reads it from the table once: the bytes the driver
// returns are read as they are, not copied again into a string (a second
// copy of a message of up to 64 MiB, per parallel batch). Measured as the
// bytes allocated while the message is opened and read: under 3.5 times
// its size (measured: 3.0 — the driver's receive buffer as it grows and
// the value scanned from it; 4.0 with the string copy).
func TestPostgresOpenLargeMemory(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	const size = 16 << 20
	big := strings.Repeat("x", size)
	id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	q.Count() // a connection in the pool, before the measurement
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := it.Open()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	r.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size*7/2 {
		t.Errorf("opening and reading a %d-byte message allocated %d bytes (%.1f times its size)", size, alloc, float64(alloc)/size)
	}
}
