//go:build unix

package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A mailname file that is a named pipe (no writer: opening it for reading
// would wait for ever), a directory or a device is refused at once with an
// error that says what it is, and %M is not expanded. Before, the FIFO
// blocked the expansion (so sendmail) until a writer came.
func TestMailnameNotRegularRefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "mailname-fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct{ path, what string }{
		{fifo, "named pipe"},
		{dir, "directory"},
		{"/dev/zero", "device"},
	} {
		if _, err := os.Stat(tc.path); err != nil {
			t.Logf("%s: %v", tc.path, err)
			continue
		}
		x := Expander{Getenv: func(string) string { return "" }, Mailname: tc.path}
		done := make(chan error, 1)
		go func() {
			a := NewAccount("default")
			a.From = "joe@%M"
			done <- a.Expand(context.Background(), x, true)
		}()
		select {
		case err := <-done:
			var ce *Error
			if !errors.As(err, &ce) || ce.Key != "from" || !strings.Contains(err.Error(), tc.what) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("mailname %s: want an *Error for from naming the file and %q, got %v", tc.path, tc.what, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("mailname %s: the expansion still waits after 20s", tc.path)
		}
	}
}

// An aliases file that is a named pipe is refused at once as well (before,
// LoadAliases waited for a writer).
func TestAliasesFIFORefusedWithoutBlocking(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "aliases")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := LoadAliases(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "aliases" || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("want an *Error for aliases naming a named pipe, got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("LoadAliases still waits on a FIFO after 20s")
	}
}
