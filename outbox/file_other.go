//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package outbox

import (
	"io"
	"os"
)

// roFile is a message file open for reading.
type roFile struct {
	f    *os.File
	path string
}

// openRO opens path read-only. A symbolic link or junction and anything
// but a regular file is refused with an unsafe *CorruptError (Lstat
// first, then the open handle's own Stat).
func openRO(path string) (*roFile, error) {
	if fi, err := os.Lstat(path); err == nil && (fi.Mode()&os.ModeSymlink != 0 || !fi.Mode().IsRegular()) {
		return nil, &CorruptError{Path: path, Msg: "is not a regular file (a link?); refused unread", Unsafe: true}
	}
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, &CorruptError{Path: path, Msg: "is not a regular file; refused unread", Unsafe: true}
	}
	return &roFile{f: f, path: path}, nil
}

func (f *roFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// readOnce is one read at off; io.EOF is not an error.
func (f *roFile) readOnce(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (f *roFile) stat() (int64, fileID, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, fileID{}, err
	}
	return fi.Size(), fileID{fi}, nil
}

func (f *roFile) tryLock() (bool, error) { return tryLock(f.f) }

// unlock releases the file's lock (see unlockFd).
func (f *roFile) unlock() { unlockFd(f.f.Fd()) }

func (f *roFile) Close() error { return f.f.Close() }

// fileID identifies a file.
type fileID struct{ fi os.FileInfo }

func sameFile(a, b fileID) bool { return a.fi != nil && b.fi != nil && os.SameFile(a.fi, b.fi) }

func statID(path string) (fileID, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, 0, err
	}
	return fileID{fi}, fi.Size(), nil
}

// maxHeldFiles is how many item files a run may hold open at once.
func maxHeldFiles() int64 { return 1024 }
