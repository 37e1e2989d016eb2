// Package regfile opens files named by a user or a configuration for
// reading, taking regular files only. A named pipe without a writer would
// make a plain open(2) wait for ever, and a device such as /dev/zero never
// ends; so the open itself never blocks (O_NONBLOCK on Unix) and what was
// opened is checked on the open descriptor, not on a name that may have
// been swapped since it was examined. config, message and outbox share it.
package regfile

import (
	"io/fs"
	"os"
)

// NotRegularError is Open's (and OpenFd's) error for a path that names
// something other than a regular file. Nothing was read from it.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	k := Kind(e.Mode)
	if k == "" {
		k = "something else"
	}
	return e.Path + " is " + k + ", not a regular file"
}

// Kind names what a file of mode m is, for messages: "a directory", "a
// named pipe", "a device" or "a socket"; "" for a regular file and for
// any other kind.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return ""
}

// Check is run by Open on the opened regular file before the file is
// made blocking again (on Unix a read of it then returns EAGAIN instead
// of waiting). fi is the open file's own Stat.
type Check func(f *os.File, fi fs.FileInfo) error

// Open opens path for reading without blocking and refuses anything but
// a regular file (*NotRegularError), checked on the open file; check, when
// not nil, is then run, and its error is returned inside an
// *os.PathError (Op "open"). The file is returned in blocking mode, with
// its Stat. An error of the open itself is the *os.PathError of
// os.OpenFile.
func Open(path string, check Check) (*os.File, fs.FileInfo, error) {
	// Not opened at all when the path already names something else: the
	// open of a device (a tape, a terminal) has effects of its own. The
	// check on the open file below covers a path swapped after this.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return openChecked(path, check)
}

// openChecked is Open after its check of the path: the open that never
// blocks and the checks on the open file, which are all that stands
// between a path swapped for a FIFO or a device after the check and an
// open that waits for ever.
func openChecked(path string, check Check) (*os.File, fs.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	if err == nil && check != nil {
		if err = check(f, fi); err != nil {
			err = &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
	if err == nil {
		err = setBlocking(f)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
