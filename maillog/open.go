package maillog

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

// ErrNotRegular is the error (inside an *fs.PathError) of OpenPrivate for a
// path that names a FIFO, a device, a socket or a directory.
var ErrNotRegular = errors.New("not a regular file (a FIFO, device or directory cannot hold it)")

// ErrOtherOwner is OpenPrivate's error for an existing file that belongs to
// another user: what is written would be theirs to read.
var ErrOtherOwner = errors.New("owned by another user (remove it, or name a file of your own)")

// OpenFile opens path for writing as the log file is opened: created with
// mode 0600 when missing, flag adding e.g. os.O_APPEND. On Unix the open
// is non-blocking (O_NONBLOCK), so a FIFO that nobody reads fails at once
// (ENXIO) instead of holding the caller forever; a regular file ignores
// it, and writes to a FIFO or terminal go through the runtime's poller,
// where a write deadline bounds them.
func OpenFile(path string, flag int) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag|openNonblock, 0o600)
}

// OpenPrivate opens path, through OpenFile, for an output file that is
// rewritten from its start and may hold addresses and server replies (a
// session transcript). Only a regular file is taken: anything else is an
// *fs.PathError wrapping ErrNotRegular, and nothing is written to it. On
// Unix, an existing file that its group or other users may read or write
// is made mode 0600 before it is truncated (its content is replaced
// anyway); a file owned by another user is refused (ErrOtherOwner), even
// for root, who could change its mode and write it.
func OpenPrivate(path string) (*os.File, error) {
	// Said before opening: a FIFO without a reader would fail the open
	// with ENXIO ("no such device or address"), which names no cause.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	f, err := OpenFile(path, 0)
	if err != nil {
		return nil, err
	}
	fail := func(op string, err error) (*os.File, error) {
		f.Close()
		return nil, &fs.PathError{Op: op, Path: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return fail("stat", err)
	}
	if !fi.Mode().IsRegular() {
		return fail("open", ErrNotRegular)
	}
	if otherOwner(fi) {
		// As root, chmod would succeed and the file's owner could read
		// what is written: refuse it, as for a file chmod cannot change.
		return fail("open", ErrOtherOwner)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return fail("chmod", errors.Unwrap(err))
		}
	}
	if err := f.Truncate(0); err != nil {
		return fail("truncate", errors.Unwrap(err))
	}
	return f, nil
}
