//go:build unix

package maillog

import (
	"os"
	"syscall"
)

// openNonblock is added to the log file's open flags: opening a FIFO
// that nobody reads then fails (ENXIO) instead of blocking forever, and
// writes to a FIFO or terminal go through the runtime's poller, where a
// deadline bounds them. A regular file ignores it.
const openNonblock = syscall.O_NONBLOCK

// otherOwner reports whether fi, an opened file, belongs to another user
// than this process's effective one (root may open anyone's file; writing
// a private transcript into it would hand its owner the content).
func otherOwner(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) != os.Geteuid()
}
