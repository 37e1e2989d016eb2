//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) on f without blocking. The lock
// belongs to the open file description, so two opens in one process
// exclude each other too, and the kernel drops it when the process dies.
func tryLock(f *os.File) (bool, error) { return flockNB(int(f.Fd())) }

func flockNB(fd int) (bool, error) {
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// unlockFd releases the flock on fd's open file description (LOCK_UN),
// which a copy of the descriptor in a forked child would otherwise keep
// after our close. The error is ignored: the close that follows releases
// the lock in every other case.
func unlockFd(fd uintptr) {
	for errors.Is(syscall.Flock(int(fd), syscall.LOCK_UN), syscall.EINTR) {
	}
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
