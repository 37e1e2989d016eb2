package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// raceBin is tlsmail built with the race detector, once per test binary.
var raceBin struct {
	once sync.Once
	path string
	err  error
}

// buildRace builds tlsmail with -race (cached by the go command after the
// first build); without cgo or a C compiler the race detector cannot be
// linked, and the test is skipped (failed under the README's test
// command).
func buildRace(t *testing.T) string {
	t.Helper()
	raceBin.once.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			raceBin.err = fmt.Errorf("go build -race needs cgo and a C compiler: gcc not found (Debian package gcc)")
			return
		}
		raceBin.path = filepath.Join(filepath.Dir(tlsmailBin), "tlsmail-race")
		cmd := exec.Command("go", "build", "-race", "-o", raceBin.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			raceBin.err = fmt.Errorf("go build -race: %v\n%s", err, out)
		}
	})
	if raceBin.err != nil {
		if strings.Contains(raceBin.err.Error(), "gcc not found") {
			testpeer.Missing(t, raceBin.err.Error())
		}
		t.Fatal(raceBin.err)
	}
	return raceBin.path
}

// TestQueueProcessesRace: on both backends (spool directory and
// PostgreSQL), two processes queue messages with send --defer while two
// `queue run --watch` processes deliver them, all four built with -race.
// Every message reaches the server exactly once, none is left, and no
// process reports a data race (the race detector prints "DATA RACE" and
// makes the process exit 66).
func TestQueueProcessesRace(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("the race-built binaries are a Linux test (amd64, arm64)")
	}
	t.Parallel()
	bin := buildRace(t)
	backends := []struct {
		name string
		flag func(t *testing.T) ([]string, func() (int, error))
	}{
		{"dir", func(t *testing.T) ([]string, func() (int, error)) {
			dir := filepath.Join(t.TempDir(), "q")
			return []string{"--queue-dir", dir}, func() (int, error) {
				q, err := outbox.Open(dir, outbox.Options{})
				if err != nil {
					return 0, err
				}
				return q.Count()
			}
		}},
		{"postgres", func(t *testing.T) ([]string, func() (int, error)) {
			url := pgDB(t, "race")
			if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
				t.Fatalf("queue init:\n%s", r)
			}
			q, err := pgqueue.Open(context.Background(), url, pgqueue.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Close)
			return []string{"--queue-url", url}, q.Count
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			where, count := b.flag(t)
			srv := startServer(t, nil)
			// atexit_sleep_ms=0: the race runtime otherwise waits a second
			// at every exit.
			env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GORACE=atexit_sleep_ms=0"}, authEnv()...)
			logDir := t.TempDir()
			var logs []string
			run := func(name string, args ...string) *exec.Cmd {
				cmd := exec.Command(bin, append(args, where...)...)
				cmd.Env = env
				f, err := os.Create(filepath.Join(logDir, name))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cmd.Stderr = f
				logs = append(logs, f.Name())
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			worker := []string{"queue", "run", "--watch", "--interval", "1s", "--parallel", "2"}
			if b.name == "postgres" {
				// The items' env passwords: a shared queue's worker takes
				// them only when told to (a directory's items are its
				// own, and --queue-secrets is refused there).
				worker = append(worker, "--queue-secrets", "env")
			}
			workers := []*exec.Cmd{run("worker-0", worker...), run("worker-1", worker...)}
			defer func() {
				for _, w := range workers {
					w.Process.Kill()
					w.Wait()
				}
			}()
			const per = 15
			var wg sync.WaitGroup
			var mu sync.Mutex
			for e := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						name := fmt.Sprintf("send-%d-%d", e, i)
						cmd := run(name, append(baseSend(srv.SMTPAddr(), srv.CAFile(), "--defer"), "--subject", name)...)
						if err := waitTimeout(cmd, time.Minute); err != nil {
							mu.Lock()
							t.Errorf("%s: %v", name, err)
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			waitMessages(t, srv, 2*per)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
				n, err := count()
				if err == nil && n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d messages (%v) still queued a minute after the server had them all", n, err)
				}
			}
			// Stop the workers as a service manager would (SIGTERM): a
			// race found late is reported at exit too.
			for i, w := range workers {
				w.Process.Signal(syscall.SIGTERM)
				if err := waitTimeout(w, time.Minute); err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
			}
			workers = nil
			ms, err := srv.Messages()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				if strings.Contains(string(b), "DATA RACE") {
					t.Errorf("%s reported a data race:\n%s", filepath.Base(l), b)
				}
			}
			seen := map[string]int{}
			for _, m := range ms {
				data, _ := m.Data()
				for _, line := range strings.Split(string(data), "\r\n") {
					if s, ok := strings.CutPrefix(line, "Subject: "); ok {
						seen[s]++
						break
					}
				}
			}
			for e := range 2 {
				for i := range per {
					if c := seen[fmt.Sprintf("send-%d-%d", e, i)]; c != 1 {
						t.Errorf("send-%d-%d received %d times, want once", e, i, c)
					}
				}
			}
			if len(ms) != 2*per {
				t.Errorf("the server has %d messages, want %d", len(ms), 2*per)
			}
		})
	}
}

// waitTimeout waits for cmd, killing it after d; an exit status other
// than 0 is an error (66: the race detector found a race).
func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	t := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer t.Stop()
	err := cmd.Wait()
	if err != nil {
		return fmt.Errorf("%v (after at most %v)", err, d)
	}
	return nil
}
