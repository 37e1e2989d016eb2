//go:build unix

package maillog

import "syscall"

// openNonblock is added to the log file's open flags: opening a FIFO
// that nobody reads then fails (ENXIO) instead of blocking forever, and
// writes to a FIFO or terminal go through the runtime's poller, where a
// deadline bounds them. A regular file ignores it.
const openNonblock = syscall.O_NONBLOCK
