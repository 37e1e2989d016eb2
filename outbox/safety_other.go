//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package outbox

import (
	"errors"
	"os"
)

// On Windows the spool lives under the user's profile
// (%LOCALAPPDATA%\tlsmail\queue), whose ACL lets only that user (and
// administrators) in; file owners and ACLs are not checked here. What is
// checked: the spool's subdirectories must be directories and not
// symbolic links or junctions (reparse points), and items and state files
// must be regular files, not links (see openRO).

func (q *Queue) checkDirs() error {
	for i, d := range []string{q.dir, q.sub("tmp"), q.sub("msg"), q.sub("failed"), q.sub("corrupt")} {
		stat := os.Lstat
		if i == 0 {
			stat = os.Stat
		}
		fi, err := stat(d)
		if err != nil {
			return &Error{Op: "run", Path: d, Msg: "cannot check the spool directory", Err: err}
		}
		if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			return &Error{Op: "run", Path: d, Msg: d + " is not a plain directory (a link or a file)", Err: ErrUnsafeSpool,
				Fix: "make it a directory of its own, in the profile of the user who runs the queue"}
		}
	}
	return nil
}

// dirWritable: Windows has no directory permission bits to check here
// (ACLs are not read); a directory that refuses deletions shows as a
// removal error after delivery, which Run reports.
func dirWritable(dir string) error { return nil }

// itemRemovable reports whether the item file could be deleted once
// delivered: Windows refuses to delete a file with the read-only
// attribute.
func itemRemovable(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // gone: nothing to remove
	}
	if fi.Mode().Perm()&0o200 == 0 {
		return errors.New("the file has the read-only attribute")
	}
	return nil
}
