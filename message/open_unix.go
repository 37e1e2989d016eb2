//go:build unix

package message

import (
	"io"
	"os"
	"syscall"
)

// openNoBlock opens path for reading with O_NONBLOCK, so that the open
// itself never blocks: opening a FIFO with no writer, or a device that
// waits for a peer, returns at once instead of waiting for ever. The
// caller checks what was opened and then calls setBlocking.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// setBlocking clears O_NONBLOCK again on a file found to be regular (where
// it changes nothing on Linux, but other systems may honour it for reads).
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}

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
