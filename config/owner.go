package config

import (
	"fmt"
	"io/fs"
)

// Distrust says why a file that another user could have written must not
// be used (see CheckOwner).
type Distrust struct {
	// OtherOwner is set when the file belongs to neither this user nor
	// root; otherwise its group or other users may write it.
	OtherOwner bool
	// Why completes "the file ...": "is owned by uid 65534, neither this
	// user (uid 1000) nor root" or "can be written by other users (mode
	// 0664)".
	Why string
}

// ownerVerdict is the decision of CheckOwner for a file owned by uid owner
// with permission bits perm, read by a process whose effective uid is
// self: why the file must not be used, or nil when it may. The file must
// belong to self or to root (uid 0), and must not be writable by group or
// others, as OpenSSH requires of its configuration files. It is a pure
// function so that every branch is tested whoever runs the tests (only
// root can make a file another user's).
func ownerVerdict(owner, self uint64, perm fs.FileMode) *Distrust {
	if owner != self && owner != 0 {
		return &Distrust{OtherOwner: true, Why: fmt.Sprintf("is owned by uid %d, neither this user (uid %d) nor root", owner, self)}
	}
	if perm.Perm()&0o022 != 0 {
		return &Distrust{Why: fmt.Sprintf("can be written by other users (mode %04o)", perm.Perm())}
	}
	return nil
}
