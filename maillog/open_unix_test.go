//go:build unix

package maillog

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenPrivate: a private output file (a transcript) is a regular file
// of mode 0600 whatever was at its path: a FIFO nobody reads is refused at
// once instead of blocking the open forever, a device or a directory is
// refused, and an existing file others may read is made 0600 and emptied
// before anything is written to it.
func TestOpenPrivate(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	shared := filepath.Join(dir, "shared")
	if err := os.WriteFile(shared, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o664); err != nil { // past the umask
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		notRegular bool // refused with ErrNotRegular
		refused    bool // refused otherwise
	}{
		{"new file", filepath.Join(dir, "new"), false, false},
		{"group-readable file", shared, false, false},
		{"FIFO without a reader", fifo, true, true},
		{"device", os.DevNull, true, true},
		{"directory", dir, true, true},
		{"missing directory", filepath.Join(dir, "no", "such"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type res struct {
				f   *os.File
				err error
			}
			done := make(chan res, 1)
			go func() { f, err := OpenPrivate(tt.path); done <- res{f, err} }()
			var r res
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				if f, err := os.OpenFile(tt.path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
					defer f.Close() // lets the blocked open through
				}
				t.Fatalf("OpenPrivate(%s) did not return within 30s", tt.path)
			}
			if tt.refused {
				if r.err == nil {
					r.f.Close()
					t.Fatalf("OpenPrivate(%s) opened it, want an error", tt.path)
				}
				if got := errors.Is(r.err, ErrNotRegular); got != tt.notRegular {
					t.Errorf("OpenPrivate(%s) = %v; errors.Is(ErrNotRegular) = %v, want %v", tt.path, r.err, got, tt.notRegular)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("OpenPrivate(%s): %v", tt.path, r.err)
			}
			if _, err := r.f.WriteString("new\n"); err != nil {
				t.Fatal(err)
			}
			r.f.Close()
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			if b, _ := os.ReadFile(tt.path); string(b) != "new\n" {
				t.Errorf("content %q, want only what was written", b)
			}
		})
	}
}

// TestOpenPrivateOtherOwner: a file another user owns is refused, also
// for root (who could chmod it): its owner would read the transcript.
func TestOpenPrivateOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	path := filepath.Join(t.TempDir(), "theirs")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil { // nobody
		t.Skipf("chown: %v", err)
	}
	f, err := OpenPrivate(path)
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, ErrOtherOwner) {
		t.Fatalf("OpenPrivate(another user's file) = %v, want ErrOtherOwner", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("the file was changed: %q", b)
	}
}
