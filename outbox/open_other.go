//go:build !windows

package outbox

import "os"

// openFile is os.OpenFile; on Windows it also shares deletion (see
// open_windows.go).
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

// removeName removes the file named p: on Unix the name is gone at once,
// even while the file is open.
func removeName(p string) error { return os.Remove(p) }
