//go:build unix

package message

import (
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
