//go:build !unix

package regfile

import "os"

// openNoBlock opens path for reading. Outside Unix no path in the file
// system is a pipe that blocks its opener (a Windows named pipe is not one
// the tools take), so a plain open is used; the regular-file check on the
// open handle still refuses devices and directories.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }

// setBlocking has nothing to undo outside Unix.
func setBlocking(*os.File) error { return nil }
