package message

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/tlsmail/tlsmail/internal/regfile"
)

// ErrNotRegular is the cause of an *InputError for a body, HTML or
// attachment path that names something other than a regular file: a
// device such as /dev/zero or /dev/urandom never ends, a pipe may never
// deliver, and neither can be read again for a second write.
var ErrNotRegular = errors.New("not a regular file")

// OpenFile opens path for reading as Compose opens its files: a regular
// file only, checked before opening and again on the open file, and the
// open never blocks (a FIFO or device swapped in after the check is
// refused, not waited on); a file that reports a size of 0 must really be
// empty. A file that is not usable is an *os.PathError wrapping
// ErrNotRegular. Callers that read a prepared message from a path (Prepare
// takes a reader) use it to get the same guarantees.
func OpenFile(path string) (*os.File, error) {
	// regfile.Open checks the path before opening it and the open file.
	return openChecked(path)
}

// openChecked opens path without blocking (O_NONBLOCK on Unix: the file
// may have been swapped for a FIFO or a device since it was examined) and
// checks the open file: regular, and empty when it reports a size of 0
// (read while O_NONBLOCK is still set, so that a file like /proc/kmsg that
// waits for data fails at once). Only then is O_NONBLOCK cleared.
func openChecked(path string) (*os.File, error) {
	f, _, err := regfile.Open(path, func(f *os.File, st fs.FileInfo) error {
		if st.Size() == 0 {
			return checkEmpty(f)
		}
		return nil
	})
	var nr *regfile.NotRegularError
	if errors.As(err, &nr) {
		return nil, &os.PathError{Op: "open", Path: path, Err: notRegular(nr.Mode)}
	}
	return f, err
}

// checkEmpty checks that a regular file that reports a size of 0 is
// empty. Files in /proc (and some in /sys) are regular files of size 0
// whatever they hold, and some never end: /proc/self/pagemap has 8 bytes
// for every page of the address space, hundreds of GB. Its size is what
// the message's size and encoding are computed from, so such a file is
// refused, as a device is. A real empty file is left at its (only) offset.
func checkEmpty(f *os.File) error {
	// Some of them refuse short reads (pagemap wants multiples of 8).
	var b [512]byte
	n, err := readNoWait(f, b[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w (it reports a size of 0 but has content, as files in /proc and /sys do)", ErrNotRegular)
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("%w (it reports a size of 0, and reading it returns nothing)", ErrNotRegular)
	}
	return fmt.Errorf("%w (it reports a size of 0, and reading it fails: %v)", ErrNotRegular, err)
}

// notRegular is the error for a file of mode m that is not a regular file.
func notRegular(m fs.FileMode) error {
	what := regfile.Kind(m)
	if what == "" {
		what = "not a file"
	}
	return fmt.Errorf("%w (%s)", ErrNotRegular, what)
}

// fileFix is the advice for a file that cannot be used.
func fileFix(err error) string {
	if errors.Is(err, ErrNotRegular) {
		return "give the path of a regular file; to send a program's output, save it to a file first"
	}
	return "check the path and its permissions"
}
