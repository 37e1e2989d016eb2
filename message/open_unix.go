//go:build unix

package message

import (
	"io"
	"os"
	"syscall"
)

// readNoWait reads once from f with read(2) itself, never waiting: Go
// registers some files of /proc with its poller (/proc/kmsg supports
// poll), and an os.File Read of such a file that returns EAGAIN waits for
// data, for ever if none comes. Here EAGAIN is returned as an error.
func readNoWait(f *os.File, p []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), p)
		return true
	}); err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if rerr == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, rerr
}
