//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/tlsmail/tlsmail/internal/regfile"
)

// roFile is a message file open for reading. On Unix it is a bare file
// descriptor: an *os.File costs four fcntl calls and a failed epoll
// registration per open on Linux (regular files cannot be polled), which
// Run would pay twice for every item.
type roFile struct {
	fd   int
	path string
	// size and id, from the fstat made at open: a spool file is never
	// modified in place (items and states are replaced by rename).
	size int64
	id   fileID
}

// openRO opens path read-only and checks, on the descriptor, that it is a
// file this user may trust (see checkOwned): a symbolic link (O_NOFOLLOW),
// a FIFO or device (O_NONBLOCK, so that opening a FIFO does not wait for a
// writer), a file of another user or one others may write is refused with
// an unsafe *CorruptError before a byte of it is read.
func openRO(path string) (*roFile, error) {
	fd, st, err := regfile.OpenFd(path, syscall.O_NOFOLLOW)
	var nr *regfile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return nil, &CorruptError{Path: path, Msg: "is not a regular file; refused unread", Unsafe: true}
	case errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK):
		// O_NOFOLLOW on a symbolic link (EMLINK on FreeBSD).
		return nil, &CorruptError{Path: path, Msg: "is a symbolic link; refused unread", Unsafe: true}
	case err != nil:
		return nil, err
	}
	f := &roFile{fd: fd, path: path}
	if msg := checkOwned(&st, false); msg != "" {
		f.Close()
		return nil, &CorruptError{Path: path, Msg: msg + "; refused unread", Unsafe: true}
	}
	f.size, f.id = st.Size, fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	return f, nil
}

// ReadAt reads len(p) bytes at off, as os.File.ReadAt does: fewer only
// with an error (io.EOF at the end of the file).
func (f *roFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Pread(f.fd, p[n:], off+int64(n))
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// readOnce is one pread(2).
func (f *roFile) readOnce(p []byte, off int64) (int, error) {
	for {
		n, err := syscall.Pread(f.fd, p, off)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		return n, nil
	}
}

// stat returns the file's size and identity (as at open).
func (f *roFile) stat() (int64, fileID, error) { return f.size, f.id, nil }

// tryLock takes the file's exclusive lock without waiting (see tryLock).
func (f *roFile) tryLock() (bool, error) { return flockNB(f.fd) }

// unlock releases the file's lock (see unlockFd).
func (f *roFile) unlock() {
	if f.fd >= 0 {
		unlockFd(uintptr(f.fd))
	}
}

func (f *roFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	return err
}

// fileID identifies a file (device and inode).
type fileID struct{ dev, ino uint64 }

// sameFile reports whether a and b are the same, known file.
func sameFile(a, b fileID) bool { return a == b && a != fileID{} }

// statID returns the identity and size of the file path names now.
func statID(path string) (fileID, int64, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == nil {
			return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, st.Size, nil
		}
		if !errors.Is(err, syscall.EINTR) {
			return fileID{}, 0, &os.PathError{Op: "stat", Path: path, Err: err}
		}
	}
}

// maxHeldFiles is how many item files a run may hold open at once: a
// quarter of the open file limit.
func maxHeldFiles() int64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < 64 {
		return 16
	}
	return int64(min(rl.Cur/4, 1<<16))
}
