package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestQueuePostgresDown: the database goes down (its own private cluster,
// stopped) under a running `queue run --watch --interval 1h`.
//
//   - send --defer meanwhile: exit 75, saying the queue database is
//     unavailable and what to check; once the database is back, nothing of
//     that message is in the queue.
//   - The worker keeps running without a tight reconnect loop: in the four
//     seconds down it writes at most a few lines (one saying the channel
//     was lost), not a line per attempt.
//   - When the database is back the worker listens again by itself and
//     says so; a message queued then is delivered at once. With an
//     interval of an hour, only the reconnected LISTEN can wake it.
func TestQueuePostgresDown(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("PostgreSQL queue tests run on Unix (internal/testpg)")
	}
	t.Parallel()
	var c testpg.Cluster // its own: the package's cluster stays up for the other tests
	t.Cleanup(c.Stop)
	url := c.URL(t)
	if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
		t.Fatalf("queue init:\n%s", r)
	}
	srv := startServer(t, nil)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	w := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1h", "--queue-secrets", "env", "--queue-url", url)
	w.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
	w.Stdout, w.Stderr = logf, logf
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	defer func() { w.Process.Kill(); <-exited }()
	workerLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	waitListen(t, url, workerLog)

	c.Down(t)
	r := cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", url, "--subject", "while down"), env: authEnv()}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "unavailable") || !strings.Contains(r.stderr, "PostgreSQL is running") {
		t.Fatalf("send --defer with the database down: want exit %d, unavailable and what to check\n%s", exitTempFail, r)
	}
	time.Sleep(4 * time.Second)
	down := workerLog()
	if lines := strings.Count(down, "\n"); lines > 3 {
		t.Errorf("the worker wrote %d lines in four seconds with the database down (a reconnect loop):\n%s", lines, down)
	}
	if !strings.Contains(down, "lost the notification channel") {
		t.Errorf("the worker did not say it lost the database:\n%s", down)
	}
	select {
	case err := <-exited:
		t.Fatalf("the worker exited while the database was down (%v):\n%s", err, down)
	default:
	}

	c.Up(t)
	q, err := pgqueue.Open(context.Background(), url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, err := q.Count(); err != nil || n != 0 {
		t.Fatalf("after the refused enqueue the queue holds %d items (%v), want none", n, err)
	}
	if r := (cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", url, "--subject", "after"), env: authEnv()}).run(t); r.code != 0 {
		t.Fatalf("send --defer after the restart:\n%s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ms, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("the worker (interval 1h) did not deliver after the database came back: %v\n%s", err, workerLog())
	}
	if b, _ := ms[0].Data(); !strings.Contains(string(b), "Subject: after") {
		t.Fatalf("delivered:\n%s", b)
	}
	if !strings.Contains(workerLog(), "listening for new messages again") {
		t.Errorf("the worker did not say it is listening again:\n%s", workerLog())
	}
}

// waitListen waits until a worker's LISTEN is in place in the database at
// url.
func waitListen(t *testing.T, url string, log func() string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`).Scan(&n)
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never listened:\n%s", log())
		}
	}
}
