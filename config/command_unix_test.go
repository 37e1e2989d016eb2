//go:build unix

package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunCommandEndlessOutput runs `yes`, which prints without end: the
// output kept is capped (it used to grow by hundreds of MB a second, since
// os/exec filled the buffer through a promoted ReadFrom that skipped the
// cap) and the call returns soon after the deadline.
func TestRunCommandEndlessOutput(t *testing.T) {
	const timeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := RunCommand(ctx, "yes")
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Errorf("err = %v, want a timeout", err)
	}
	// What was allocated in all, not the live heap: a buffer that grew and
	// was freed counts too.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("RunCommand(yes) allocated %d MB in %v; the output must be capped at 64 KiB", grew>>20, elapsed)
	}
	// An upper bound for "returns after the deadline", not a speed test.
	if limit := timeout + 3*time.Second; elapsed > limit {
		t.Errorf("RunCommand returned after %v, more than %v past a %v deadline", elapsed, limit-timeout, timeout)
	}
}

// TestRunCommandKillsChildren ends a command whose shell started a
// background child: the child is killed with the command instead of being
// left running under init. The context ends (cancelled, as a timeout ends
// it) once the pid file is there: a fixed 500 ms deadline could end the
// shell before it wrote the file on a loaded machine.
func TestRunCommandKillsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		// mv: the file appears whole.
		_, err := RunCommand(ctx, "sleep 777 & echo $! >"+pidFile+".new && mv "+pidFile+".new "+pidFile+"; wait")
		ran <- err
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		select {
		case err := <-ran:
			t.Fatalf("the command ended before it started its child: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start its child within a minute")
		}
	}
	cancel()
	var err error
	select {
	case err = <-ran:
	case <-time.After(time.Minute):
		t.Fatal("RunCommand did not return after its context ended")
	}
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %q: %v", data, err)
	}
	// The kill is sent before RunCommand returns; reaping by init (or by
	// whatever adopts the child) may take a moment.
	deadline := time.Now().Add(30 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child (pid %d) is still running after the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for a parent that never reaps.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false // no /proc: only ESRCH tells
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// TestLoadRefusesNonRegular: a named pipe without a writer (opening it
// would block), a device and a directory are refused as configuration
// files, at once.
func TestLoadRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", dir} {
		done := make(chan error, 1)
		go func() { _, err := Load(context.Background(), p, Options{}); done <- err }()
		select {
		case err := <-done:
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "not a regular file") || ce.Fix == "" {
				t.Errorf("Load(%s) = %v, want an *Error saying it is not a regular file", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) did not return", p)
		}
	}
}

// TestRunCommandBackgroundChildKeepsOutput: a command that prints the
// password and leaves a background process holding its output open
// succeeds once that output is given up, shortly after the command exits.
func TestRunCommandBackgroundChildKeepsOutput(t *testing.T) {
	line, err := RunCommand(context.Background(), "echo s3cret; sleep 3 &")
	if err != nil || line != "s3cret" {
		t.Errorf("RunCommand = %q, %v; want the first line and no error", line, err)
	}
}
