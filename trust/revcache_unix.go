//go:build unix

package trust

import (
	"os"
	"syscall"
)

// groupOtherBitsMeaningful: on Unix the mode's group and other write bits
// say who else may change a file.
const groupOtherBitsMeaningful = true

// ownedByUser reports whether fi belongs to the user running this process.
func ownedByUser(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// dirSecurityProblem: on Unix the owner and mode bits, which safeMode has
// checked, are the whole story.
func dirSecurityProblem(string, os.FileInfo) error { return nil }

// fileSecurityProblem: on Unix the owner and mode bits, which safeMode has
// checked on the file opened, are the whole story.
func fileSecurityProblem(*os.File) error { return nil }
