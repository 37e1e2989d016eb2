//go:build unix

package maillog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWriteFIFO: a logfile that names a FIFO nobody reads (a careless
// logfile setting, or one a local user planted) must not hang the sender
// after the mail is gone: opening it for writing blocks forever, and
// tlsmail did not even die of SIGTERM then (msmtp 1.8.23 hangs too). Write
// returns an error at once instead; a FIFO with a reader still gets the
// line.
func TestWriteFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	e := Entry{Host: "mail.example.com", From: "a@example.com", Recipients: []string{"b@example.com"}}
	done := make(chan error, 1)
	go func() { done <- Config{File: fifo}.Write(e, time.Now()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "log file") {
			t.Errorf("Write to a FIFO without a reader: %v, want an error", err)
		}
	case <-time.After(30 * time.Second):
		// Unblock the open so the goroutine ends.
		if f, err := os.OpenFile(fifo, os.O_RDONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Write to a FIFO without a reader did not return within 30s")
	}

	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := (Config{File: fifo}).Write(e, time.Now()); err != nil {
		t.Fatalf("Write to a FIFO with a reader: %v", err)
	}
	buf := make([]byte, 4096)
	n, _ := r.Read(buf)
	if !strings.Contains(string(buf[:n]), "host=mail.example.com") {
		t.Errorf("the reader got %q", buf[:n])
	}
}
