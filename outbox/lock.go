package outbox

import (
	"errors"
	"io"
	"os"
)

// lockedFile is an item file this process holds an exclusive lock on: open
// with openLocked (f) or, read-only, with lockItem (ro).
type lockedFile struct {
	f    *os.File
	ro   *roFile
	path string
}

// lockItem opens a message file read-only and takes its lock without
// waiting. It returns (nil, nil) when another process or goroutine holds
// the lock.
func lockItem(path string, hook func(string)) (*lockedFile, error) {
	f, err := openRO(path)
	if err != nil {
		return nil, err
	}
	hook("opened") // tests: another runner acts between our open and lock
	ok, err := f.tryLock()
	if err != nil || !ok {
		f.Close()
		return nil, err
	}
	return &lockedFile{ro: f, path: path}, nil
}

// readerAt reads the held file.
func (lf *lockedFile) readerAt() io.ReaderAt {
	if lf.ro != nil {
		return lf.ro
	}
	return lf.f
}

// openLocked opens path and takes its lock without waiting. It returns
// (nil, nil) when another process or goroutine holds the lock.
func openLocked(path string, flag int) (*lockedFile, error) {
	f, err := openFile(path, flag, 0o600)
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		f.Close()
		return nil, err
	}
	return &lockedFile{f: f, path: path}, nil
}

// stillThere reports whether lf's path still names the file lf holds (a
// runner may have removed or moved it between our open and our lock).
func (lf *lockedFile) stillThere() bool {
	a, err := lf.f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(lf.path)
	return err == nil && os.SameFile(a, b)
}

// unlock releases the lock, then closes the file. The lock is released
// explicitly: closing alone does not release it while a copy of the
// descriptor lives, as in a process forked (to run a password command)
// and not yet exec'd, and another runner would find the item busy.
func (lf *lockedFile) unlock() {
	if lf == nil {
		return
	}
	if lf.f != nil {
		unlockFd(lf.f.Fd())
		lf.f.Close()
		lf.f = nil
	}
	if lf.ro != nil {
		lf.ro.unlock()
		lf.ro.Close()
		lf.ro = nil
	}
}

// removeLocked removes the item's files while lf still holds its lock,
// then lets go, so that no other runner can take the item in between. On
// Windows this needs the FILE_SHARE_DELETE that openFile asks for: another
// runner then cannot open a file whose deletion is pending, or finds the
// name gone.
func removeLocked(lf *lockedFile, paths ...string) error {
	var first error
	for _, p := range paths {
		if err := removeName(p); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	lf.unlock()
	return first
}

// renameLocked moves lf's file to dst while holding it (on Windows,
// FILE_SHARE_DELETE allows renaming an open file).
func renameLocked(lf *lockedFile, dst string) error {
	return os.Rename(lf.path, dst)
}
