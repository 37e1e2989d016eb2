package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpg"
)

// TestQueuePostgresPgBouncer: the command line through PgBouncer in
// transaction pooling, with a URL that names no query mode (as an
// application host's would): `queue init` twice, send --defer, queue
// list, show and remove, and queue run delivering each remaining message
// once, none left. A URL asking for describe_exec through the pooler
// exits 78 naming default_query_exec_mode=exec.
//
// Before, the second `queue init` failed ("prepared statement ... already
// exists": the first had prepared it on the server connection the pooler
// gave the second), and a URL with describe_exec was taken.
func TestQueuePostgresPgBouncer(t *testing.T) {
	t.Parallel()
	url := pg.Bouncer(t, pgDB(t, "bouncer"), testpg.Bouncer{PoolMode: "transaction", PoolSize: 2})
	for i := range 2 {
		if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
			t.Fatalf("queue init #%d through PgBouncer:\n%s", i+1, r)
		}
	}
	srv := startServer(t, nil)
	send := baseSend(srv.SMTPAddr(), srv.CAFile())
	for i := range 3 {
		if r := (cli{args: append(send, "--defer", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
			t.Fatalf("send --defer #%d through PgBouncer:\n%s", i+1, r)
		}
	}
	r := runTLSMail(t, "queue", "list", "--json", "--queue-url", url)
	var q queueJSON
	if err := json.Unmarshal([]byte(r.stdout), &q); r.code != 0 || err != nil || len(q.Queued) != 3 {
		t.Fatalf("queue list --json: want 3 queued (%v)\n%s", err, r)
	}
	id := q.Queued[0].ID
	if r = runTLSMail(t, "queue", "show", "--queue-url", url, id); r.code != 0 || !strings.Contains(r.stdout, "Subject:") {
		t.Fatalf("queue show %s:\n%s", id, r)
	}
	if r = runTLSMail(t, "queue", "remove", "--queue-url", url, id); r.code != 0 {
		t.Fatalf("queue remove %s:\n%s", id, r)
	}
	if r = (cli{args: []string{"queue", "run", "--queue-url", url, "--queue-secrets", "env"}, env: authEnv()}).run(t); r.code != 0 {
		t.Fatalf("queue run through PgBouncer:\n%s", r)
	}
	if ms := waitMessages(t, srv, 2); len(ms) != 2 {
		t.Fatalf("the server got %d messages, want 2", len(ms))
	}
	if r = runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "0 queued, 0 failed") {
		t.Fatalf("queue list --count after the run:\n%s", r)
	}
	if ms, err := srv.Messages(); err != nil || len(ms) != 2 {
		t.Fatalf("the server has %d messages (%v), want 2: each once", len(ms), err)
	}
	r = runTLSMail(t, "queue", "list", "--queue-url", url+"&default_query_exec_mode=describe_exec")
	if r.code != exitConfig || !strings.Contains(r.stderr, "default_query_exec_mode=exec") {
		t.Fatalf("queue list with describe_exec through PgBouncer: want exit %d naming default_query_exec_mode=exec\n%s", exitConfig, r)
	}
}

// TestQueuePostgresPgBouncerWatch: `queue run --watch` through PgBouncer
// in transaction pooling, where a LISTEN is lost with its statement's
// server connection: the worker says so on standard error, once, with
// what to do (a session pool), and still delivers a message queued
// afterwards, by its interval (1 s here). Before, it said nothing: an
// enqueue never woke it, and nothing told the operator why.
func TestQueuePostgresPgBouncerWatch(t *testing.T) {
	t.Parallel()
	url := pg.Bouncer(t, pgDB(t, "bouncerwatch"), testpg.Bouncer{PoolMode: "transaction", PoolSize: 2})
	if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
		t.Fatalf("queue init:\n%s", r)
	}
	srv := startServer(t, nil)
	w := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1s", "--queue-secrets", "env")
	w.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TLSMAIL_QUEUE_URL=" + url}, authEnv()...)
	out := &watchWriter{want: "pool_mode=session", seen: make(chan struct{})}
	w.Stdout, w.Stderr = out, out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Kill(); w.Wait() }()
	select {
	case <-out.seen:
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker did not warn within 30 s that enqueues do not wake it:\n%s", out.String())
	}
	deferSends(t, srv, url, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.Wait(ctx, 1); err != nil {
		t.Fatalf("the worker (interval 1 s) did not deliver: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "pool_mode=session"); n != 1 {
		t.Errorf("the warning was written %d times, want once:\n%s", n, out.String())
	}
}

// TestQueuePostgresPgBouncerStatementWatch: `queue run --watch` through
// PgBouncer in statement pooling, which refuses every transaction (each
// claim is one), stops at once with exit 78 and a fix naming pool_mode.
// Before, Open took the URL (it runs no transaction) and the worker
// failed every pass, for ever, one line each interval and no fix.
func TestQueuePostgresPgBouncerStatementWatch(t *testing.T) {
	t.Parallel()
	direct := pgDB(t, "bouncerstmt")
	url := pg.Bouncer(t, direct, testpg.Bouncer{PoolMode: "statement", PoolSize: 2})
	if r := runTLSMail(t, "queue", "init", "--queue-url", direct); r.code != 0 {
		t.Fatalf("queue init:\n%s", r)
	}
	w := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1s", "--queue-secrets", "env", "--queue-url", url)
	w.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
	out := &watchWriter{want: "pool_mode", seen: make(chan struct{})}
	w.Stdout, w.Stderr = out, out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		w.Process.Kill()
		<-exited
		t.Fatalf("queue run --watch through statement pooling still running after 20 s:\n%s", out.String())
	}
	if code := w.ProcessState.ExitCode(); code != exitConfig || !strings.Contains(out.String(), "pool_mode") {
		t.Fatalf("queue run --watch through statement pooling: exit %d, want %d with a fix naming pool_mode:\n%s", code, exitConfig, out.String())
	}
}
