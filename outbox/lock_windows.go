//go:build windows

package outbox

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes an exclusive LockFileEx lock on f without blocking.
func tryLock(f *os.File) (bool, error) {
	// Lock one byte far past the end of the file, so that other processes
	// can still read the item (Windows locks are mandatory for I/O).
	ol := windows.Overlapped{OffsetHigh: 0x7fffffff}
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

// unlockFd releases the lock tryLock took on the handle fd (UnlockFileEx);
// closing the handle releases it too, but only once every duplicate of the
// handle is closed.
func unlockFd(fd uintptr) {
	ol := windows.Overlapped{OffsetHigh: 0x7fffffff}
	windows.UnlockFileEx(windows.Handle(fd), 0, 1, 0, &ol)
}

// syncDir is a no-op: Windows has no directory fsync; NTFS journals
// renames.
func syncDir(dir string) error { return nil }
