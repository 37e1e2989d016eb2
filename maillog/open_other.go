//go:build !unix

package maillog

import "os"

// openNonblock: see open_unix.go; nothing outside Unix.
const openNonblock = 0

// otherOwner: file ownership is not checked here (Windows' ACLs are the
// file's own; the transcript is created with the user's default ACL).
func otherOwner(os.FileInfo) bool { return false }
