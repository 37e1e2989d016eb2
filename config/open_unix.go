//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// openRegular opens path for reading without blocking (O_NONBLOCK: a named
// pipe without a writer would make the open wait for ever) and refuses
// anything but a regular file, checked on the open file; then O_NONBLOCK
// is cleared again.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, not a regular file", path, fileKind(fi.Mode()))
	}
	if err == nil {
		var rc syscall.RawConn
		if rc, err = f.SyscallConn(); err == nil {
			var serr error
			if err = rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err == nil {
				err = serr
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
