//go:build unix

package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenNeverBlocks opens a FIFO without a writer and a character
// device: a plain open(2) of the FIFO would wait for a writer for ever.
// Both must be refused at once, by Open, by its open path after the check
// of the path (openChecked: what runs when the path is swapped for a FIFO
// between the two, a race no test can time, and which Open's own check
// hides here), and by OpenFd.
func TestOpenNeverBlocks(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	tests := []struct {
		path, kind string
	}{
		{fifo, "a named pipe"},
		{os.DevNull, "a device"},
	}
	opens := map[string]func(string) error{
		"Open": func(p string) error {
			f, _, err := Open(p, nil)
			if f != nil {
				f.Close()
			}
			return err
		},
		"openChecked": func(p string) error {
			f, _, err := openChecked(p, nil)
			if f != nil {
				f.Close()
			}
			return err
		},
		"OpenFd": func(p string) error {
			fd, _, err := OpenFd(p, 0)
			if fd >= 0 {
				syscall.Close(fd)
			}
			return err
		},
	}
	for name, open := range opens {
		for _, tt := range tests {
			t.Run(name+"/"+tt.kind, func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- open(tt.path) }()
				select {
				case err := <-done:
					var nr *NotRegularError
					if !errors.As(err, &nr) || Kind(nr.Mode) != tt.kind {
						t.Fatalf("%s(%s) = %v, want a *NotRegularError for %s", name, tt.path, err, tt.kind)
					}
				case <-time.After(10 * time.Second):
					if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						w.Close()
					}
					<-done
					t.Fatal("the open blocked")
				}
			})
		}
	}
}

// TestOpenFd checks the bare-descriptor open: a regular file's fstat is
// returned, a symbolic link is refused under O_NOFOLLOW (ELOOP, inside an
// *os.PathError).
func TestOpenFd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("twelve bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, st, err := OpenFd(file, syscall.O_NOFOLLOW)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if st.Size != 12 {
		t.Errorf("size %d, want 12", st.Size)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fd2, _, err := OpenFd(link, syscall.O_NOFOLLOW)
	var pe *os.PathError
	if fd2 != -1 || !errors.As(err, &pe) || !(errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)) {
		t.Errorf("OpenFd(symlink, O_NOFOLLOW) = %d, %v; want -1 and ELOOP", fd2, err)
	}
	if fd3, _, err := OpenFd(link, 0); err != nil {
		t.Errorf("OpenFd(symlink, 0) = %v, want the file", err)
	} else {
		syscall.Close(fd3)
	}
}

// TestOpenDoesNotOpenNonRegular: a path that already names something
// other than a regular file is refused without being opened (opening a
// device may have effects: a tape rewinds, a terminal becomes the
// controlling one). Shown with a FIFO whose writer waits in open(2): an
// open of the read end, even a non-blocking one, would release it.
func TestOpenDoesNotOpenNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	released := make(chan struct{})
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for a reader
		if err == nil {
			w.Close()
		}
		close(released)
	}()
	time.Sleep(100 * time.Millisecond) // let the writer reach open(2)
	f, _, err := Open(fifo, nil)
	if f != nil {
		f.Close()
	}
	var nr *NotRegularError
	if !errors.As(err, &nr) {
		t.Fatalf("Open(fifo) = %v; want a *NotRegularError", err)
	}
	select {
	case <-released:
		t.Error("Open opened the FIFO's read end (its waiting writer was released)")
	case <-time.After(300 * time.Millisecond):
	}
	// Release the writer.
	if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
		<-released
		r.Close()
	}
}
