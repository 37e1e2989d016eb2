// Package testdir gives tests a temporary directory that also goes away
// under Wine.
//
// testing.T.TempDir removes its directory with os.RemoveAll, which in Go
// 1.26 deletes through FILE_DISPOSITION_INFORMATION_EX on Windows; Wine
// 8.0 answers "Invalid function", and the test fails in its cleanup. New
// removes the tree bottom-up with os.Remove instead, which works on every
// platform.
package testdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// New returns a new empty directory that is removed when tb and its
// subtests finish.
func New(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("", "tlsmail-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		var dirs []string
		filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, path)
			} else if err == nil {
				os.Remove(path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			os.Remove(dirs[i])
		}
	})
	return d
}
