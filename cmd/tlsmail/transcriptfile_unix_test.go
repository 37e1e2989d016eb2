//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenTranscriptFIFO: --transcript naming a FIFO that nobody reads
// used to block the command forever in open(2) (before any connection);
// it is a configuration error at once now, which says what to give.
func TestOpenTranscriptFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, closeFn, err := openTranscript(&env{stderr: io.Discard}, fifo)
		closeFn()
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("openTranscript(FIFO) = %v, want a not-a-regular-file error", err)
		}
		if classify(err).code != exitConfig {
			t.Errorf("exit code %d, want %d", classify(err).code, exitConfig)
		}
	case <-time.After(30 * time.Second):
		if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer f.Close() // lets the blocked open through
		}
		t.Fatal("openTranscript(FIFO without a reader) did not return within 30s")
	}
}

// TestTranscriptFileCLI: through the command, a FIFO or a device is
// refused before anything is sent (exit 78, the fix names a regular
// file), and an existing transcript file that its group may read (made by
// another tool) is rewritten with mode 0600: it holds addresses and the
// server's replies.
func TestTranscriptFileCLI(t *testing.T) {
	srv := startServer(t, nil)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// README: "a FIFO, device or directory is refused".
	for _, p := range []string{fifo, os.DevNull, t.TempDir()} {
		r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--transcript", p), env: authEnv()}.run(t)
		if r.code != exitConfig || !strings.Contains(r.stderr, "not a regular file") ||
			!strings.Contains(r.stderr, "a writable path to a regular file") {
			t.Errorf("--transcript %s: exit %d, want %d with the fix:\n%s", p, r.code, exitConfig, r)
		}
	}
	if ms, _ := srv.Messages(); len(ms) != 0 {
		t.Fatalf("the server stored %d messages, want none", len(ms))
	}

	shared := filepath.Join(dir, "transcript.txt")
	if err := os.WriteFile(shared, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--transcript", shared), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r)
	}
	fi, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the transcript file has mode %v after the send, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(shared); strings.HasPrefix(string(b), "old") || !strings.Contains(string(b), "EHLO") {
		t.Errorf("the transcript file holds %q, want a fresh transcript", b)
	}

	// A new transcript file is created with mode 0600 whatever the umask
	// allows (the README's promise; the test's umask, usually 022, would
	// otherwise give 0644).
	fresh := filepath.Join(dir, "new-transcript.txt")
	r = cli{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--transcript", fresh), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a new transcript file: %v, %v; want mode 0600", fi, err)
	}
}
