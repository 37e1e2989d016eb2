package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresCloseDuringRun: a program that closes its Queue while a run
// is under way (misuse: a run is stopped by its context first) gets the
// run's end at once, with an error that says the queue was closed
// (ErrClosed), not a run that retries its deletions on the closed pool
// for half the lease as if the database were unavailable (before: still
// running after 20 s).
func TestPostgresCloseDuringRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	for i := 0; i < 20; i++ {
		if _, err := submit.Enqueue(ctx, q, a, outbox.Envelope{From: "ann@example.org", To: []string{"bob@example.net"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	rctx, cancel := context.WithTimeout(ctx, time.Minute) // an upper bound against a hang
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := submit.RunPass(rctx, q, submit.PassConfig{Parallel: 1, OnResult: func(*outbox.Item, outbox.Result, *submit.Sent) {
			once.Do(func() { go q.Close() })
		}})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the run was still going 20 s after its Queue was closed")
	}
	t.Logf("the run ended %s after it began: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, pgqueue.ErrClosed) {
		t.Fatalf("the run's error %v; want one that says the queue was closed (ErrClosed)", err)
	}
	if errors.Is(err, pgqueue.ErrUnavailable) || errors.Is(err, outbox.ErrRemoveRefused) {
		t.Errorf("the run's error %v says the database is unavailable or refused the deletion", err)
	}
}

// TestPostgresWorkerStopsOnClose: a Worker whose Queue is closed under it
// (misuse, as above) stops with the Queue's ErrClosed (outbox.ErrClosed)
// instead of running on, its every pass failing "used after Close" at
// its interval until its context ends (before: 30 s later, nil, with an
// error a second meanwhile).
func TestPostgresWorkerStopsOnClose(t *testing.T) {
	t.Parallel()
	q := openPG(t, newDB(t), pgqueue.Options{})
	var mu sync.Mutex
	passes := 0
	w := &submit.Worker{Queue: q, Interval: submit.MinInterval, OnError: func(err error) {
		mu.Lock()
		passes++
		mu.Unlock()
		t.Logf("OnError: %v", err)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // an upper bound against a hang
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(500 * time.Millisecond)
	q.Close()
	err := <-done
	if ctx.Err() != nil {
		t.Fatalf("the Worker ran until its context ended (%v); want it to stop once its Queue is closed", err)
	}
	if !errors.Is(err, pgqueue.ErrClosed) || !errors.Is(err, outbox.ErrClosed) {
		t.Fatalf("the Worker's error %v; want ErrClosed (pgqueue's and outbox's)", err)
	}
}
