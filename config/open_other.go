//go:build !unix

package config

import (
	"fmt"
	"os"
)

// openRegular opens path for reading and refuses anything but a regular
// file. Outside Unix no file-system path is a pipe that blocks its opener.
func openRegular(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is %s, not a regular file", path, fileKind(fi.Mode()))
	}
	return f, nil
}
