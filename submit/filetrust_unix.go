//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"fmt"
	"os"
	"syscall"
)

// checkCommandFile refuses a file whose content can make delivery run a
// command (a configuration file's passwordeval and eval) when someone else
// could have written it: as the outbox's own files, it must belong to the
// user running the delivery (or to root, as /etc/msmtprc does) and be
// writable by no one else. The file is followed if it is a symbolic link.
// A file that cannot be examined is left to its reader to report.
func checkCommandFile(path string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid && st.Uid != 0 {
		return &Error{Field: "config_file_owner",
			Msg: fmt.Sprintf("%s belongs to uid %d, not to this user (uid %d), and its passwordeval would be run", path, st.Uid, uid),
			Fix: fmt.Sprintf("deliver as the file's owner, or make the file yours (chown %d %s)", uid, path)}
	}
	if st.Mode&0o022 != 0 {
		return &Error{Field: "config_file_mode",
			Msg: fmt.Sprintf("%s can be written by other users (mode %04o), and its passwordeval would be run", path, st.Mode&0o7777),
			Fix: "run: chmod go-w " + path}
	}
	return nil
}
