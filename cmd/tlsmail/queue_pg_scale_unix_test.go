//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// pgScaleSteady and pgScaleKilled are how many messages the PostgreSQL
// scale test delivers by default: the 10,000 when no worker dies,
// 2,000 in the run whose workers are killed (each kill waits for a
// restart and a lease, so that run's time grows with its kills, not its
// size). TLSMAIL_PG_SCALE=N sets both (see docs/queue-postgres.md, "How it
// is tested"). Measured on the 2-core test machine: the steady 10,000 take
// about 8 s more than 2,000 did, in parallel with the package's other
// tests.
const (
	pgScaleSteady = 10000
	pgScaleKilled = 2000
)

// pgScaleParallel is each scale-test worker's --parallel: its number of
// SMTP connections at once.
const pgScaleParallel = 2

func pgScale(t *testing.T, kill bool) int {
	s := os.Getenv("TLSMAIL_PG_SCALE")
	if s == "" && kill {
		return pgScaleKilled
	}
	if s == "" {
		return pgScaleSteady
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 10 {
		t.Fatalf("TLSMAIL_PG_SCALE=%q: want a number of messages, at least 10", s)
	}
	return n
}

// TestQueuePostgresScale: three `queue run --watch` processes deliver n
// messages (pgScale) from one database into the embedded server.
//
// steady: no process dies; the server receives each Message-ID exactly
// once, and the queue is empty.
//
// killed: the test kills a worker with SIGKILL at random moments (first
// freezing it with SIGSTOP and reading which items its lease holds: the
// items in flight) and starts it again. Every message arrives, none is
// left queued or failed, and a message arrives twice only if it was in
// flight in a killed worker. The sink records, for every message it
// stores, which worker's lease the item was under at that moment (the
// lease owner names the process: host/pid/random), so each duplicate is
// shown to have one delivery from a killed process. The duplicates each
// killed process caused are at most pgScaleParallel × (the unrecorded 250s
// a connection may have, pgqueue.DefaultMaxUnrecorded, + the one whose 250
// it had not read). Once (at message n/3) the database is made to hold
// every deletion for 1.5 s while the workers deliver, and the worker that
// delivered that message is then killed: before the bound it went on
// delivering and caused hundreds of duplicates.
func TestQueuePostgresScale(t *testing.T) {
	t.Parallel()
	for _, kill := range []bool{false, true} {
		n := pgScale(t, kill)
		name := "steady"
		if kill {
			name = "killed"
		}
		t.Run(name, func(t *testing.T) { pgScaleRun(t, name, n, kill) })
	}
}

// delivery is one message the sink stored: its number and the lease owner
// of its item when the DATA ended.
type delivery struct {
	i     int
	owner string
}

func pgScaleRun(t *testing.T, name string, n int, kill bool) {
	url, _, q := pgInitQueue(t, "scale_"+name)
	ctx := context.Background()

	// The sink: each message's envelope sender is m<i>@scale.test; when
	// its DATA is complete, the sink reads who holds the item's lease.
	ids := make([]string, n)
	var mu sync.Mutex
	var got []delivery
	frozen := map[int]bool{}
	frozenPIDs := make(chan int, 2)
	srv := startServer(t, func(c *server.Config) {
		c.RejectData = func(env server.Envelope) *server.Reply {
			i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(env.From, "m"), "@scale.test"))
			if err != nil || i < 0 || i >= n {
				return &server.Reply{Code: 550, Text: "not a sender of this test"}
			}
			var owner *string
			qctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := q.Pool().QueryRow(qctx, `SELECT lease_owner FROM tlsmail.outbox WHERE id = $1`, ids[i]).Scan(&owner); err != nil || owner == nil {
				// Stored all the same: the check below finds it.
				owner = new(string)
				*owner = fmt.Sprintf("(no lease: %v)", err)
			}
			mu.Lock()
			got = append(got, delivery{i, *owner})
			hold := kill && i == n/3 && !frozen[i]
			freeze := kill && i == 2*n/3 && !frozen[i]
			if hold || freeze {
				frozen[i] = true
			}
			mu.Unlock()
			if pid, err := strconv.Atoi(ownerPID(*owner)); hold && err == nil {
				// The database slows down: every deletion that records a
				// 250 waits (the trigger below) while the workers go on
				// delivering. A worker may then have many 250s not yet
				// recorded; it is frozen and killed before they are.
				if _, err := q.Pool().Exec(qctx, `INSERT INTO public.hold VALUES (1)`); err != nil {
					t.Errorf("holding the deletions: %v", err)
				}
				go func() {
					time.Sleep(1500 * time.Millisecond)
					syscall.Kill(pid, syscall.SIGSTOP)
					frozenPIDs <- pid
					if _, err := q.Pool().Exec(context.Background(), `DELETE FROM public.hold`); err != nil {
						t.Errorf("releasing the deletions: %v", err)
					}
				}()
			}
			if pid, err := strconv.Atoi(ownerPID(*owner)); freeze && err == nil {
				// The worst moment: the message is complete and about to
				// be acknowledged, its item not yet deleted. Freeze the
				// worker before the 250 goes out; the main loop kills it.
				syscall.Kill(pid, syscall.SIGSTOP)
				frozenPIDs <- pid
			}
			return nil
		}
	})
	a := envAccount(t, srv)

	// While public.hold has a row, a DELETE on the queue waits: a slow
	// database disk, a lock, a busy server (the killed run holds it for
	// 1.5 s, then kills the worker whose 250 started it).
	if _, err := q.Pool().Exec(ctx, `CREATE TABLE public.hold (x int);
		CREATE FUNCTION public.hold_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			WHILE EXISTS (SELECT 1 FROM public.hold) LOOP
				PERFORM pg_sleep(0.01);
			END LOOP;
			RETURN NULL;
		END $$;
		CREATE TRIGGER hold_deletes BEFORE DELETE ON tlsmail.outbox FOR EACH STATEMENT EXECUTE FUNCTION public.hold_deletes();`); err != nil {
		t.Fatal(err)
	}

	// Queue them in transactions of 1,000 (EnqueueTx, the transactional
	// outbox), as an application would with its own changes.
	start := time.Now()
	for lo := 0; lo < n; lo += 1000 {
		tx, err := q.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st := txStore{q, tx}
		for i := lo; i < min(lo+1000, n); i++ {
			m := fmt.Sprintf("Message-ID: <%d@scale.test>\r\nSubject: %d\r\n\r\nbody\r\n", i, i)
			env := outbox.Envelope{From: fmt.Sprintf("m%d@scale.test", i), To: []string{"bob@example.org"}}
			if ids[i], err = submit.Enqueue(ctx, st, a, env, strings.NewReader(m)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d messages queued in %v", n, time.Since(start).Round(time.Millisecond))

	lease := "5m"
	if kill {
		lease = "3s"
	}
	var logs []string // the workers' standard error, in files
	logDir := t.TempDir()
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1s", "--lease", lease, "--parallel", strconv.Itoa(pgScaleParallel), "--queue-secrets", "env", "--queue-url", url)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
		f, err := os.Create(fmt.Sprintf("%s/worker-%d.log", logDir, len(logs)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its own descriptor
		logs = append(logs, f.Name())
		cmd.Stderr = f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	start = time.Now()
	workers := []*exec.Cmd{startWorker(), startWorker(), startWorker()}
	defer func() {
		for _, w := range workers {
			w.Process.Kill()
			w.Wait()
		}
	}()

	// inflight: for each killed process, the items its lease held.
	inflight := map[string]map[string]bool{}
	killedPIDs := map[int]bool{}
	deadline := time.Now().Add(time.Duration(n/20+120) * time.Second)
	for {
		left, err := q.Count()
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued at the deadline; worker logs:\n%s", left, joinLogs(logs))
		}
		i := -1
		select {
		case pid := <-frozenPIDs: // frozen by the sink
			i = slices.IndexFunc(workers, func(w *exec.Cmd) bool { return w.Process.Pid == pid })
		case <-time.After(time.Duration(100+mathrand.IntN(400)) * time.Millisecond):
			if kill && len(killedPIDs) < 5 {
				i = mathrand.IntN(len(workers))
			}
		}
		if i >= 0 {
			pid := workers[i].Process.Pid
			workers[i].Process.Signal(syscall.SIGSTOP)
			held, owner := leased(t, q, pid)
			workers[i].Process.Signal(syscall.SIGKILL)
			workers[i].Wait()
			workers[i] = startWorker()
			killedPIDs[pid] = true
			if owner != "" {
				inflight[owner] = held
			}
			t.Logf("killed worker %d holding %d items", pid, len(held))
		}
	}
	elapsed := time.Since(start)
	ms := waitMessages(t, srv, n)
	for _, w := range workers { // nothing is left to deliver: stop them
		w.Process.Kill()
		w.Wait()
	}

	seen := make([]int, n)
	for _, m := range ms {
		b, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		var i int
		if _, err := fmt.Sscanf(string(b), "Message-ID: <%d@scale.test>", &i); err != nil || i < 0 || i >= n {
			t.Fatalf("a message the test did not queue: %.60q", b)
		}
		seen[i]++
	}
	mu.Lock()
	byMsg := map[int][]string{}
	perPID := map[string]int{}
	for _, d := range got {
		byMsg[d.i] = append(byMsg[d.i], d.owner)
		perPID[ownerPID(d.owner)]++
	}
	mu.Unlock()
	dups := 0
	// dupsOf: for each killed worker's lease owner, the messages that
	// arrived more than once, one of them from that worker.
	dupsOf := map[string]int{}
	for i, c := range seen {
		switch {
		case c == 0:
			t.Errorf("message %d never arrived", i)
		case c > 1 && !kill:
			t.Errorf("message %d arrived %d times with no worker killed", i, c)
		case c > 1:
			dups += c - 1
			// One delivery of a duplicate came from a killed process,
			// under a lease the test saw it hold when it froze it.
			ok := false
			for _, o := range slices.Compact(slices.Sorted(slices.Values(byMsg[i]))) {
				if inflight[o][ids[i]] {
					ok = true
					dupsOf[o]++
				}
			}
			if !ok {
				t.Errorf("message %d arrived %d times (leases %v), but no killed worker held it", i, c, byMsg[i])
			}
		}
		for _, o := range byMsg[i] {
			if strings.HasPrefix(o, "(no lease") {
				t.Errorf("message %d was delivered without a lease on its item: %s", i, o)
			}
		}
	}
	// The bound: a killed worker sends again, on each of its --parallel
	// connections, at most the message whose 250 it had not yet read and
	// the MaxUnrecorded whose 250 it had read but whose deletion was not
	// committed.
	bound := pgScaleParallel * (pgqueue.DefaultMaxUnrecorded + 1)
	for o, d := range dupsOf {
		if d > bound {
			t.Errorf("worker %s, killed, caused %d duplicates; at most %d (%d connections × (%d unrecorded 250s + 1 in flight)) may be sent again", o, d, bound, pgScaleParallel, pgqueue.DefaultMaxUnrecorded)
		}
	}
	if kill && dups < 1 {
		t.Errorf("%d duplicates: the worker frozen between the message's end and its 250 should have caused one", dups)
	}
	if left, _ := q.Count(); left != 0 {
		t.Errorf("%d messages left queued", left)
	}
	if f, _ := q.CountFailed(); f != 0 {
		t.Errorf("%d messages failed", f)
	}
	if len(perPID) < 2 {
		t.Errorf("deliveries by worker process %v: the workers did not share the queue", perPID)
	}
	t.Logf("duplicates by killed worker: %v", dupsOf)
	t.Logf("%d messages, %d received, %d duplicates, %d kills; %v from the workers' start to an empty queue (%.0f messages/s); deliveries by process: %v",
		n, len(ms), dups, len(killedPIDs), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), perPID)
}

// leased returns the items whose lease the (frozen) process pid holds, and
// its lease owner name.
func leased(t *testing.T, q *pgqueue.Queue, pid int) (map[string]bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := q.Pool().Query(ctx, `SELECT id, lease_owner FROM tlsmail.outbox
		WHERE split_part(lease_owner, '/', 2) = $1 AND lease_until > clock_timestamp()`, strconv.Itoa(pid))
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	var owner string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id, &owner); err != nil {
			t.Fatal(err)
		}
		held[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return held, owner
}

func ownerPID(owner string) string {
	if parts := strings.Split(owner, "/"); len(parts) == 3 {
		return parts[1]
	}
	return owner
}

func joinLogs(logs []string) string {
	var s []string
	for i, name := range logs {
		b, _ := os.ReadFile(name)
		s = append(s, fmt.Sprintf("--- worker %d:\n%s", i, b))
	}
	return strings.Join(s, "\n")
}

// txStore queues into the caller's transaction: submit.Enqueue on it is
// pgqueue's EnqueueTx.
type txStore struct {
	*pgqueue.Queue
	tx pgx.Tx
}

func (s txStore) EnqueueData(ctx context.Context, env outbox.Envelope, d outbox.Data, r io.Reader) (string, error) {
	return s.EnqueueTx(ctx, s.tx, env, d, r)
}

// TestQueuePostgresRestartMidRun: PostgreSQL is restarted (fast shutdown:
// every connection cut) while two `queue run --watch` processes are
// delivering. The test freezes both workers (SIGSTOP), notes the items
// their leases hold, restarts the server, and lets them go on: they
// reconnect by themselves, every message arrives, none is left queued or
// failed, and a message arrives twice only if it was one of the items in
// flight at the restart. The cluster is this test's own, so that the
// package's other tests are not cut off.
func TestQueuePostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	var c testpg.Cluster
	t.Cleanup(c.Stop)
	url := c.URL(t)
	if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
		t.Fatalf("queue init:\n%s", r)
	}
	srv := startServer(t, nil)
	ctx := context.Background()
	q, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	a := envAccount(t, srv)
	const n = 1500
	ids := make([]string, n)
	tx, err := q.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := fmt.Sprintf("Message-ID: <%d@restart.test>\r\nSubject: %d\r\n\r\nbody\r\n", i, i)
		if ids[i], err = submit.Enqueue(ctx, txStore{q, tx}, a, outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org"}}, strings.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	var workers []*exec.Cmd
	var logs []string
	for i := range 2 {
		cmd := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1s", "--lease", "3s", "--parallel", "2", "--queue-secrets", "env", "--queue-url", url)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
		f, err := os.Create(fmt.Sprintf("%s/worker-%d.log", logDir, i))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = f
		logs = append(logs, f.Name())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		workers = append(workers, cmd)
	}
	defer func() {
		for _, w := range workers {
			w.Process.Kill()
			w.Wait()
		}
	}()
	waitMessages(t, srv, n/5) // well into the run
	for _, w := range workers {
		w.Process.Signal(syscall.SIGSTOP)
	}
	inflight := map[string]bool{}
	for _, w := range workers {
		held, _ := leased(t, q, w.Process.Pid)
		for id := range held {
			inflight[id] = true
		}
	}
	c.Restart(t)
	for _, w := range workers {
		w.Process.Signal(syscall.SIGCONT)
	}
	q.Close() // its connections were cut: a fresh pool for the checks
	q, err = pgqueue.Open(ctx, url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		left, err := q.Count()
		if err == nil && left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages (%v) still queued two minutes after the restart; worker logs:\n%s", left, err, joinLogs(logs))
		}
	}
	ms := waitMessages(t, srv, n)
	seen := make([]int, n)
	for _, m := range ms {
		b, _ := m.Data()
		var i int
		if _, err := fmt.Sscanf(string(b), "Message-ID: <%d@restart.test>", &i); err != nil || i < 0 || i >= n {
			t.Fatalf("a message the test did not queue: %.60q", b)
		}
		seen[i]++
	}
	dups := 0
	for i, c := range seen {
		switch {
		case c == 0:
			t.Errorf("message %d never arrived", i)
		case c > 1 && !inflight[ids[i]]:
			t.Errorf("message %d arrived %d times but was not in flight at the restart", i, c)
		case c > 1:
			dups += c - 1
		}
	}
	if f, _ := q.CountFailed(); f != 0 {
		t.Errorf("%d messages failed", f)
	}
	t.Logf("%d messages, %d in flight at the restart, %d duplicates", n, len(inflight), dups)
}
