package submit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestWorkerStopsCleanly: a Worker that delivered messages leaves no
// goroutine behind once Run has returned after its context was cancelled
// (none of its own, none of its connections').
func TestWorkerStopsCleanly(t *testing.T) {
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	w := &Worker{Queue: q, Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for i := range 3 {
		if _, err := w.Enqueue(context.Background(), a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			strings.NewReader("Subject: "+string(rune('a'+i))+"\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Wait(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	// The server side of a connection may take a moment to wind down.
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Run returned, %d before it started:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestWorkerNoSpin: an item that fails at once (its password source is
// missing) and a spool removed while the Worker runs make it wait between
// passes, never loop: with an interval of MinInterval, about one pass a
// second, not thousands. OnError hears of the missing spool (renamed
// away: os.RemoveAll fails under Wine).
func TestWorkerNoSpin(t *testing.T) {
	_, a := startTestServer(t)
	dir := filepath.Join(testdir.New(t), "q")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := *a
	bad.Auth = Auth{Mechanism: "PLAIN", User: "u", Secret: SecretRef{Source: SecretEnv, Ref: "TLSMAIL_TEST_UNSET_VARIABLE"}}
	var passes, errs atomic.Int32
	inner := &Worker{Queue: q}
	w := &Worker{Queue: q, Interval: MinInterval, OnError: func(error) { errs.Add(1) },
		Pass: func(ctx context.Context) (outbox.Stats, error) { passes.Add(1); return inner.pass(ctx) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for range 3 {
		if _, err := w.Enqueue(context.Background(), &bad, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	time.Sleep(1500 * time.Millisecond)
	// The spool goes away (renamed: os.RemoveAll fails under Wine).
	if err := os.Rename(dir, dir+".gone"); err != nil {
		t.Fatal(err)
	}
	// Wait for the pass that finds it gone (not a fixed 1.5 s: on a slow
	// machine, under Wine, that pass could end after the cancel, and a
	// pass cut by the cancel reports nothing), then watch as long again.
	for deadline := time.Now().Add(time.Minute); errs.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("OnError was not told that the spool is gone")
		}
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-done
	// A Worker that spins makes thousands of passes a second; one that
	// waits MinInterval makes one a second, and fewer on a slow machine.
	elapsed := time.Since(start)
	if n := passes.Load(); n > 30+int32(10*elapsed/time.Second) {
		t.Errorf("%d passes in %v with an interval of %v: the Worker spins", n, elapsed.Round(time.Millisecond), MinInterval)
	}
}

// TestWorkerStopsOnRemoveRefused: a pass whose outbox refused to remove
// what it delivered (outbox.ErrRemoveRefused: a PostgreSQL role without
// DELETE, a trigger) ends Run with that error after that pass, as each
// further pass would send messages again and leave them queued; any other
// failed pass goes to OnError and the Worker goes on. Before, every error
// went to OnError and the Worker passed again, for ever.
func TestWorkerStopsOnRemoveRefused(t *testing.T) {
	refused := &outbox.Error{Op: "run", Msg: "cannot record the delivery", Err: fmt.Errorf("denied: %w", outbox.ErrRemoveRefused)}
	tests := []struct {
		name  string
		errs  []error // of each pass; nil after the last
		want  error   // Run's
		pass  int     // passes run
		notes int     // OnError calls
	}{
		{"refused at once", []error{refused}, refused, 1, 0},
		{"unavailable, then refused", []error{errors.New("the queue database is unavailable"), refused}, refused, 2, 1},
	}
	for _, tt := range tests {
		var passes, notes atomic.Int32
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		w := &Worker{Interval: MinInterval, OnError: func(error) { notes.Add(1) },
			Pass: func(ctx context.Context) (outbox.Stats, error) {
				i := int(passes.Add(1)) - 1
				if i < len(tt.errs) {
					return outbox.Stats{}, tt.errs[i]
				}
				<-ctx.Done() // before: the Worker came here, and stayed
				return outbox.Stats{}, nil
			}}
		w.Wake()
		err := w.Run(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut || err != tt.want || int(passes.Load()) != tt.pass || int(notes.Load()) != tt.notes {
			t.Errorf("%s: Run = %v (timed out: %v) after %d passes, %d OnError calls; want %v after %d, %d",
				tt.name, err, timedOut, passes.Load(), notes.Load(), tt.want, tt.pass, tt.notes)
		}
	}
}
