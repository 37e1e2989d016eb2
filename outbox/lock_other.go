//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package outbox

import (
	"errors"
	"os"
)

// tryLock always succeeds: this platform has no file locks tlsmail uses, so
// only one runner at a time may use a spool here.
func tryLock(f *os.File) (bool, error) { return true, nil }

func removeLocked(lf *lockedFile, paths ...string) error {
	var first error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	lf.unlock()
	return first
}

func renameLocked(lf *lockedFile, dst string) error { return os.Rename(lf.path, dst) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
