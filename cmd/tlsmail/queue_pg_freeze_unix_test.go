//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// TestQueuePostgresFrozenWorker: a worker stopped (SIGSTOP: a paused VM,
// a process cut off from the database) for longer than its lease, whose
// batch another worker has meanwhile taken over and delivered, must not
// send the rest of that batch when it runs again: it no longer knows its
// lease to hold. Before, it went on through its batch, sending every
// message the other worker had already sent (duplicates with no worker
// dead). Messages whose 250 it had received before the stop may arrive
// twice (they were in flight), and the one it had begun on its connection;
// no other may arrive after it is let go.
func TestQueuePostgresFrozenWorker(t *testing.T) {
	t.Parallel()
	const n = 300
	url, _, q := pgInitQueue(t, "frozen")
	ctx := context.Background()

	var (
		mu       sync.Mutex
		stored   int
		thawed   bool
		afterCnt int
		frozePID int
		worker   *exec.Cmd
	)
	frozen := make(chan struct{})
	srv := startServer(t, func(c *server.Config) {
		c.RejectData = func(server.Envelope) *server.Reply {
			mu.Lock()
			defer mu.Unlock()
			stored++
			if thawed {
				afterCnt++
			}
			if stored == 40 && worker != nil {
				// Mid-batch: the worker stops before this message's 250.
				frozePID = worker.Process.Pid
				syscall.Kill(frozePID, syscall.SIGSTOP)
				close(frozen)
			}
			return nil
		}
	})
	a := envAccount(t, srv)
	for i := range n {
		m := fmt.Sprintf("Message-ID: <%d@frozen.test>\r\nSubject: %d\r\n\r\nbody\r\n", i, i)
		if _, err := submit.Enqueue(ctx, q, a, outbox.Envelope{From: "a@frozen.test", To: []string{"bob@example.org"}}, strings.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	run := func() *exec.Cmd {
		cmd := exec.Command(tlsmailBin, "queue", "run", "--lease", "3s", "--parallel", "1", "--queue-secrets", "env", "--queue-url", url)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
		return cmd
	}
	mu.Lock()
	worker = run()
	var wout strings.Builder
	worker.Stdout, worker.Stderr = &wout, &wout
	if err := worker.Start(); err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	mu.Unlock()
	defer worker.Process.Kill()
	select {
	case <-frozen:
	case <-time.After(20 * time.Second):
		worker.Process.Kill()
		worker.Wait()
		t.Fatalf("the worker never reached the 40th message:\n%s", wout.String())
	}
	time.Sleep(4 * time.Second) // its 3 s lease ends
	other := run()
	if out, err := other.CombinedOutput(); err != nil {
		t.Fatalf("the other worker: %v\n%s", err, out)
	}
	if left, err := q.Count(); err != nil || left != 0 {
		t.Fatalf("%d left after the other worker (%v)", left, err)
	}
	mu.Lock()
	thawed = true
	mu.Unlock()
	syscall.Kill(frozePID, syscall.SIGCONT)
	done := make(chan error, 1)
	go func() { done <- worker.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the thawed worker did not finish")
	}
	ms := waitMessages(t, srv, n)
	seen := map[string]int{}
	for _, m := range ms {
		b, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(string(b), "\r\n")
		seen[id]++
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(seen), n)
	}
	// One message may have been under way on the worker's one connection
	// (read and begun before the stop, its DATA sent after): in flight.
	if afterCnt > 1 {
		t.Errorf("the thawed worker sent %d messages after its lease had ended (%d arrived for %d queued); the end of its output:\n%s", afterCnt, len(ms), n, tail(wout.String(), 1500))
	}
	t.Logf("%d arrived for %d queued; %d after the thaw", len(ms), n, afterCnt)
}

// tail is the last n bytes of s.
func tail(s string, n int) string { return s[max(0, len(s)-n):] }
