package submit

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

// startTestServer starts the embedded server on loopback and returns it
// with an Account that delivers to it over STARTTLS, verified with its CA.
func startTestServer(t *testing.T) (*server.Server, *Account) {
	t.Helper()
	return startServerWith(t, server.Config{})
}

// startServerWith is startTestServer for a server with cfg's hooks
// (RejectRecipient, RejectMail, ...); its address and directory are the
// test's.
func startServerWith(t *testing.T, cfg server.Config) (*server.Server, *Account) {
	t.Helper()
	cfg.SMTPAddr, cfg.Dir = "127.0.0.1:0", testdir.New(t)
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	port, _ := strconv.Atoi(p)
	return srv, &Account{Host: "127.0.0.1", Port: port, Mode: smtp.StartTLS,
		Trust: Trust{CAFile: srv.CAFile(), ServerName: "localhost"}, Timeout: 10 * time.Second}
}

// TestWorkerWakesOnEnqueue: with an interval of an hour, only the wake-up
// of Worker.Enqueue can deliver the message before the test's deadline;
// a message queued behind the Worker's back (outbox.EnqueueData, as
// another process would) waits for the timer, here the shortest one. The
// Worker returns nil once its context is cancelled.
func TestWorkerWakesOnEnqueue(t *testing.T) {
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan outbox.Outcome, 4)
	w := &Worker{Queue: q, Interval: time.Hour, OnResult: func(it *outbox.Item, r outbox.Result, _ *Sent) { results <- r.Outcome }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	env := outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}}

	deadline := time.After(time.Minute) // an upper bound against a hang
	time.Sleep(50 * time.Millisecond)   // let the first (empty) pass run: the Worker then sleeps
	if _, err := w.Enqueue(context.Background(), a, env, strings.NewReader("Subject: 1\r\n\r\none\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-results:
		if o != outbox.Delivered {
			t.Fatalf("outcome %v, want delivered", o)
		}
	case <-deadline:
		t.Fatal("Worker.Enqueue did not wake the worker (interval one hour)")
	}
	if _, err := srv.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// TestWorkerTimer: an item another process queued is found by the timer.
func TestWorkerTimer(t *testing.T) {
	_, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan outbox.Outcome, 4)
	w := &Worker{Queue: q, Interval: MinInterval, OnResult: func(it *outbox.Item, r outbox.Result, _ *Sent) { results <- r.Outcome }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(50 * time.Millisecond)
	if _, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		strings.NewReader("Subject: 2\r\n\r\ntwo\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-results:
		if o != outbox.Delivered {
			t.Fatalf("outcome %v, want delivered", o)
		}
	case <-time.After(time.Minute):
		t.Fatal("the Worker's timer never found the item")
	}
}
