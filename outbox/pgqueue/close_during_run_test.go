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
