//go:build unix

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// statementFreezer is a loopback TCP proxy to a PostgreSQL server that
// makes a connection half-open once its client sends a statement holding
// pattern: from then on the connection carries nothing either way and
// nothing closes it (the statement never reaches the server), as when the
// server's host vanishes, or a NAT drops the flow, while the statement is
// under way. Other connections are forwarded. froze gets the time of each
// freeze.
type statementFreezer struct {
	addr  string
	froze chan time.Time
}

func startStatementFreezer(t *testing.T, target, pattern string) *statementFreezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sf := &statementFreezer{addr: l.Addr().String(), froze: make(chan time.Time, 64)}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			var frozen atomic.Bool
			pipe := func(dst, src net.Conn, watch bool) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if watch && n > 0 && !frozen.Load() && bytes.Contains(buf[:n], []byte(pattern)) {
						frozen.Store(true)
						select {
						case sf.froze <- time.Now():
						default:
						}
					}
					if n > 0 && !frozen.Load() {
						if _, err := dst.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						if !frozen.Load() {
							dst.Close()
						}
						return
					}
				}
			}
			go pipe(s, c, true)
			go pipe(c, s, false)
		}
	}()
	return sf
}

// TestQueuePostgresExitAfterHalfOpen: a `tlsmail queue run` whose database
// connection goes half-open mid-statement exits within a couple of seconds
// once it is done, not after pgx's background close of the abandoned
// connection (a cancel request, a Terminate, and a read until the server
// closes it, which a vanished peer never does: up to 15 s).
//
// stopped: the claim hangs and the worker is stopped (SIGTERM, as systemd
// stops it): the cancelled statement's connection is given up on.
// renewal timed out: a lease renewal (bounded by a third of the lease, 1 s
// with --lease 3s) times out on a half-open connection while a slow
// delivery goes on; the run then ends normally, its message delivered.
//
// A guard: it passed before pgqueue's Close was bounded too (measured 3 ms
// after the SIGTERM, 1.5 s after the freeze), because the command does not
// close its queue (the process's exit closes the sockets); it fails if
// anything on the way out waits for the abandoned connection.
func TestQueuePostgresExitAfterHalfOpen(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		pattern string // of the statement whose connection goes half-open
		slow    time.Duration
		stop    bool
	}{
		{"stopped", "FOR UPDATE SKIP LOCKED", 0, true},
		// The renewal's statement (pgqueue's renew).
		{"renewal timed out", "SET lease_until = clock_timestamp() + $3::interval", 2500 * time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _, q := pgInitQueue(t, "halfopen_"+strings.ReplaceAll(tt.name, " ", "_"))
			ctx := context.Background()
			srv := startServer(t, func(c *server.Config) {
				c.RejectData = func(server.Envelope) *server.Reply {
					time.Sleep(tt.slow)
					return nil
				}
			})
			a := envAccount(t, srv)
			m := "Message-ID: <1@halfopen.test>\r\nSubject: 1\r\n\r\nbody\r\n"
			if _, err := submit.Enqueue(ctx, q, a, outbox.Envelope{From: "a@halfopen.test", To: []string{"bob@example.org"}}, strings.NewReader(m)); err != nil {
				t.Fatal(err)
			}
			target := strings.TrimPrefix(url, "postgres://tlsmail@")
			target, _, _ = strings.Cut(target, "/")
			sf := startStatementFreezer(t, target, tt.pattern)
			proxied := strings.Replace(url, "@"+target+"/", "@"+sf.addr+"/", 1)
			if proxied == url {
				t.Fatalf("test URL %s does not name the database as @%s/", url, target)
			}
			cmd := exec.Command(tlsmailBin, "queue", "run", "--lease", "3s", "--parallel", "1", "--queue-secrets", "env", "--queue-url", proxied)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
			// Read on a failure path while tlsmail still writes: watchWriter
			// locks (a bytes.Buffer read there raced with exec's copying).
			out := &watchWriter{seen: make(chan struct{})}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			exited := false
			defer func() {
				if !exited {
					cmd.Process.Kill()
					<-done
				}
			}()
			var start time.Time
			select {
			case start = <-sf.froze:
			case err := <-done:
				exited = true
				t.Fatalf("tlsmail exited (%v) before its statement went half-open:\n%s", err, out.String())
			case <-time.After(30 * time.Second):
				t.Fatal("the statement was not sent within 30 s")
			}
			since, bound := "the freeze", 8*time.Second
			if tt.stop {
				time.Sleep(300 * time.Millisecond) // the claim is waiting
				since, bound, start = "the SIGTERM", 5*time.Second, time.Now()
				cmd.Process.Signal(syscall.SIGTERM)
			}
			var werr error
			select {
			case werr = <-done:
				exited = true
			case <-time.After(40 * time.Second):
				t.Fatalf("tlsmail has not exited 40 s after %s:\n%s", since, out.String())
			}
			d := time.Since(start)
			t.Logf("exit (%v) %v after %s; output:\n%s", werr, d.Round(time.Millisecond), since, out.String())
			if d > bound {
				t.Errorf("tlsmail exited %v after %s; want a couple of seconds (no wait for the abandoned connection's 15 s drain)", d.Round(time.Millisecond), since)
			}
			if tt.stop {
				return
			}
			if n, err := q.Count(); err != nil || n != 0 {
				t.Errorf("%d items left (%v); want the message delivered and removed", n, err)
			}
		})
	}
}
