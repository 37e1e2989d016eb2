//go:build windows

package outbox

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/windows"
)

// openFile is os.OpenFile for the outbox's files, opened with
// FILE_SHARE_DELETE besides read and write sharing. Windows refuses to
// rename or delete a file that another handle holds without it, and
// os.OpenFile does not ask for it; with it, a runner can remove or move
// an item while it still holds the item's lock, and enqueue can rename
// its finished file into msg/ before letting go of it, as on Unix. Any
// other runner then finds the name gone, or cannot open a file whose
// deletion is pending: it never reads an item that was delivered.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var access uint32
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		access = windows.GENERIC_READ
	case os.O_WRONLY:
		access = windows.GENERIC_WRITE
	case os.O_RDWR:
		access = windows.GENERIC_READ | windows.GENERIC_WRITE
	}
	var create uint32
	switch {
	case flag&os.O_APPEND != 0:
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("O_APPEND is not supported")}
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		create = windows.CREATE_NEW
	case flag&(os.O_CREATE|os.O_TRUNC) == os.O_CREATE|os.O_TRUNC:
		create = windows.CREATE_ALWAYS
	case flag&os.O_CREATE != 0:
		create = windows.OPEN_ALWAYS
	case flag&os.O_TRUNC != 0:
		create = windows.TRUNCATE_EXISTING
	default:
		create = windows.OPEN_EXISTING
	}
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL)
	if perm&0o200 == 0 {
		attrs = windows.FILE_ATTRIBUTE_READONLY
	}
	h, err := windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, create, attrs, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// removeName removes the file named p so that its name is gone at once.
// Deleting a file that some handle still holds (ours, under the lock)
// leaves its name listed, and on some systems openable, until the last
// handle closes; another runner could then take a delivered item. So the
// file is first renamed out of its directory, into the spool's tmp/
// (p's grandparent holds msg/, state/ and tmp/), which Windows does at
// once, and deleted there. A name left in tmp/ by a failed delete is swept
// with the other leftovers there.
func removeName(p string) error {
	// Only the lock holder removes an item, so the name is ours alone; a
	// stale one a crashed runner left is replaced (os.Rename replaces).
	gone := filepath.Join(filepath.Dir(filepath.Dir(p)), "tmp", filepath.Base(p)+"."+strconv.Itoa(os.Getpid())+".gone")
	if err := os.Rename(p, gone); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return err
		}
		return os.Remove(p) // no tmp/ (or another volume): delete in place
	}
	return os.Remove(gone)
}
