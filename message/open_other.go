//go:build !unix

package message

import "os"

// readNoWait reads from f.
func readNoWait(f *os.File, p []byte) (int, error) { return f.Read(p) }
