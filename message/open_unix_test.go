//go:build unix

package message

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenCheckedFIFONeverBlocks opens a FIFO that has no writer: a plain
// open(2) would block until a writer comes, for ever. It must instead
// return ErrNotRegular at once. regfile.Open refuses the path before it
// opens it; the open that follows that check (what runs when a regular
// file is replaced by a FIFO between the two, a race no test can time)
// is driven directly by internal/regfile's TestOpenNeverBlocks.
func TestOpenCheckedFIFONeverBlocks(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := openChecked(fifo)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("openChecked(fifo) = %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		// Unblock the stuck open so the test binary can end.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("opening a FIFO with no writer blocked")
	}
}

// TestOpenCheckedRegularIsBlocking checks that a regular file opened
// through the non-blocking path reads normally afterwards.
func TestOpenCheckedRegularIsBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(p, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 16)
	n, err := f.Read(b)
	if err != nil || string(b[:n]) != "hello\n" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
}

// TestReadNoWaitDoesNotWait: checkEmpty reads a file that reports a size
// of 0 to see whether it is really empty. Some such files can be polled
// (/proc/kmsg, as root): Go's poller then turns EAGAIN into a wait for
// data, and `--body-file /proc/kmsg` hung for ever. The read must return
// at once. A FIFO with a writer and no data behaves the same way and needs
// no privilege (reading /proc/kmsg in a test would also take messages
// from the system log), so it stands in for /proc/kmsg here.
func TestReadNoWaitDoesNotWait(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	go func() {
		var b [512]byte
		_, err := readNoWait(r, b[:])
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EAGAIN) {
			t.Fatalf("readNoWait = %v, want EAGAIN", err)
		}
	case <-time.After(10 * time.Second):
		w.Write([]byte("x")) // let the stuck read end
		<-done
		t.Fatal("reading a file with no data available waited for data")
	}
}
