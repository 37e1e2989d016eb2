//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package outbox

import (
	"os"
)

// tryLock always succeeds: this platform has no file locks tlsmail uses, so
// only one runner at a time may use a spool here.
func tryLock(f *os.File) (bool, error) { return true, nil }

// unlockFd has no lock to release.
func unlockFd(fd uintptr) {}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
