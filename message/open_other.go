//go:build !unix

package message

import "os"

// openNoBlock opens path for reading. Outside Unix there is no FIFO that
// blocks its opener (a Windows named pipe is not a path in the file
// system the CLI takes), so a plain open is used.
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }

// setBlocking has nothing to undo outside Unix.
func setBlocking(*os.File) error { return nil }

// readNoWait reads from f.
func readNoWait(f *os.File, p []byte) (int, error) { return f.Read(p) }
