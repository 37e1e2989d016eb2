package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestQueuePostgresMaxUnrecorded: `queue run --max-unrecorded N` bounds how
// many messages a connection sends on before their removal is committed
// (pgqueue.Options.MaxUnrecorded). While the test holds a lock that makes
// every removal wait, a run with --parallel 1 stops after exactly N
// messages reached the server (3 with the flag, 8 without: the default),
// and delivers the rest once the lock is let go. Out-of-range values and
// the flag on a spool directory: TestQueueMaxUnrecordedOutOfRange.
func TestQueuePostgresMaxUnrecorded(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, nil)
	a := envAccount(t, srv)
	a.Trust.ServerName = "localhost"
	for _, tc := range []struct {
		flag []string
		want int
	}{{[]string{"--max-unrecorded", "3"}, 3}, {nil, pgqueue.DefaultMaxUnrecorded}} {
		url, conn := pgInitDB(t, fmt.Sprintf("unrecorded%d", tc.want))
		q, err := pgqueue.Open(ctx, url, pgqueue.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		before, _ := srv.Messages()
		const n = 20
		for i := range n {
			m := fmt.Sprintf("Message-ID: <%d.%d@unrecorded.test>\r\nSubject: %d\r\n\r\nbody\r\n", tc.want, i, i)
			if _, err := submit.Enqueue(ctx, q, a, outbox.Envelope{From: "a@unrecorded.test", To: []string{"bob@example.org"}}, strings.NewReader(m)); err != nil {
				t.Fatal(err)
			}
		}
		// Removals wait for this lock (a DELETE from tlsmail.message
		// conflicts with SHARE); claims and reads do not.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE tlsmail.message IN SHARE MODE`); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tlsmailBin, append(append([]string{"queue", "run", "--parallel", "1", "--queue-secrets", "env"}, tc.flag...), "--queue-url", url)...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, werr := srv.Wait(wctx, len(before)+tc.want)
		cancel()
		if werr != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%q: the server never got %d messages: %v\n%s", tc.flag, tc.want, werr, out.String())
		}
		time.Sleep(1500 * time.Millisecond) // a run that did not stop would send on
		during, _ := srv.Messages()
		tx.Rollback(ctx)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%q: queue run: %v\n%s", tc.flag, err, out.String())
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatalf("%q: queue run did not finish once the lock was let go\n%s", tc.flag, out.String())
		}
		if got := len(during) - len(before); got != tc.want {
			t.Errorf("%q: %d messages sent while their removal could not be committed; want %d", tc.flag, got, tc.want)
		}
		if after, _ := srv.Messages(); len(after)-len(before) != n {
			t.Errorf("%q: %d messages delivered in all; want %d", tc.flag, len(after)-len(before), n)
		}
		if left, err := q.Count(); err != nil || left != 0 {
			t.Errorf("%q: %d left queued (%v)", tc.flag, left, err)
		}
	}
}
