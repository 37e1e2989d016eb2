package config

import (
	"fmt"
	"io/fs"
)

// ownerVerdict is the decision of untrusted for a file owned by uid owner
// with permission bits perm, read by a process whose effective uid is
// self: why the file must not be used, or "" when it may. The file must
// belong to self or to root (uid 0), and must not be writable by group or
// others, as OpenSSH requires of its configuration files. It is a pure
// function so that every branch is tested whoever runs the tests (only
// root can make a file another user's).
func ownerVerdict(owner, self uint64, perm fs.FileMode) string {
	if owner != self && owner != 0 {
		return fmt.Sprintf("is owned by uid %d, neither this user (uid %d) nor root", owner, self)
	}
	if perm.Perm()&0o022 != 0 {
		return fmt.Sprintf("can be written by other users (mode %04o)", perm.Perm())
	}
	return ""
}
