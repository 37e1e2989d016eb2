//go:build unix

package regfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openNoBlock opens path read-only with O_NONBLOCK: opening a FIFO that
// has no writer, or a device that waits for a peer, returns at once.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// setBlocking clears O_NONBLOCK again on a file found to be regular
// (where it changes nothing on Linux, but other systems may honour it for
// reads).
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

// OpenFd is Open for callers that keep a bare descriptor (an *os.File
// costs fcntl calls and a failed poller registration per open on Linux):
// open(2) read-only, close-on-exec and non-blocking, with flags added
// (O_NOFOLLOW, say), retried on EINTR; then fstat(2) on the descriptor,
// and anything but a regular file is closed and refused
// (*NotRegularError). The descriptor is left non-blocking, which changes
// nothing for a regular file on the systems outbox serves. Errors of
// open and fstat are *os.PathError around the errno.
func OpenFd(path string, flags int) (int, syscall.Stat_t, error) {
	var st syscall.Stat_t
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK|flags, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return -1, st, &os.PathError{Op: "open", Path: path, Err: err}
		}
		for {
			err = syscall.Fstat(fd, &st)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		switch {
		case err != nil:
			err = &os.PathError{Op: "stat", Path: path, Err: err}
		case uint32(st.Mode)&syscall.S_IFMT != syscall.S_IFREG:
			err = &NotRegularError{Path: path, Mode: modeOf(uint32(st.Mode))}
		}
		if err != nil {
			syscall.Close(fd)
			return -1, st, err
		}
		return fd, st, nil
	}
}

// modeOf turns the file-type bits of a stat(2) mode into an fs.FileMode,
// as os.Stat does, for Kind.
func modeOf(m uint32) fs.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}
