//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// The spool's settings say which command gives the password
// (SecretRef{Source: "command"}) and which configuration file to read: a
// runner must never act on a file someone else could have written. On
// Unix every spool directory, item and state file must belong to the
// user running the queue and be writable by nobody else; symbolic links,
// FIFOs and devices are refused. A system-wide spool shared by several
// users is not supported: each user keeps their own.

// checkOwned returns why the file st describes must not be trusted, or
// "" when it may: a regular file (dir: a directory) owned by this
// process's effective user, not writable by group or others.
func checkOwned(st *syscall.Stat_t, dir bool) string {
	mode := st.Mode & syscall.S_IFMT
	switch {
	case dir && mode != syscall.S_IFDIR:
		return "is not a directory"
	case !dir && mode != syscall.S_IFREG:
		return "is not a regular file"
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Sprintf("is owned by uid %d, not by this user (uid %d)", st.Uid, uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Sprintf("can be written by other users (mode %04o)", st.Mode&0o7777)
	}
	return ""
}

// checkDirs checks the spool directory (following a symbolic link to it)
// and its subdirectories (not followed) before a run reads anything.
func (q *Queue) checkDirs() error {
	for i, d := range []string{q.dir, q.sub("tmp"), q.sub("msg"), q.sub("failed"), q.sub("corrupt")} {
		var st syscall.Stat_t
		var err error
		if i == 0 {
			err = syscall.Stat(d, &st)
		} else {
			err = syscall.Lstat(d, &st)
		}
		if errors.Is(err, syscall.EINTR) {
			return q.checkDirs()
		}
		if err != nil {
			return &Error{Op: "run", Path: d, Msg: "cannot check the spool directory", Err: &os.PathError{Op: "stat", Path: d, Err: err}}
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			return &Error{Op: "run", Path: d, Msg: d + " is a symbolic link", Err: ErrUnsafeSpool,
				Fix: "make it a directory of its own, owned by the user who runs the queue (mode 0700)"}
		}
		if msg := checkOwned(&st, true); msg != "" {
			return &Error{Op: "run", Path: d, Msg: fmt.Sprintf("the spool directory %s %s", d, msg), Err: ErrUnsafeSpool,
				Fix: fmt.Sprintf("the queue runs commands its items name: give it a directory only you can write (chown it to uid %d and chmod 700 it), or run the queue as its owner", os.Geteuid())}
		}
	}
	return nil
}

// dirWritable reports whether this process may create and remove names in
// dir: access(2) with W_OK, which also fails on a read-only file system
// (EROFS) and an immutable directory (EPERM), for root too. (access
// checks the real uid; the spool is owned by the effective one, see
// checkDirs, and the two differ only for a set-uid program.)
func dirWritable(dir string) error {
	for {
		err := syscall.Access(dir, 2) // W_OK
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// itemRemovable reports whether the item file at path could be removed
// once delivered: the directory's write access is checked once per run
// (dirWritable); what is left is a file the kernel refuses to unlink
// whatever the directory says, an immutable or append-only one
// (chattr +i/+a on Linux, chflags schg/uchg on BSD), for which access(2)
// with W_OK fails with EPERM. (EACCES, mode bits, does not matter for
// unlink.)
func itemRemovable(path string) error {
	for {
		err := syscall.Access(path, 2)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
			return err
		}
		return nil
	}
}
