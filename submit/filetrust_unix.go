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

// CheckPasswordFile refuses a configuration file holding a password that
// other users may read, as msmtp does: a user's file must be readable by
// its owner only (mode 0600). The system file (system: /etc/msmtprc, or
// the file that stands for it) may also be group-readable when root owns
// it and neither its group nor others can write it (0640 root:msmtp,
// Debian's setting, so that the members of the group can send). A file
// that cannot be examined is left to its reader to report.
func CheckPasswordFile(path string, system bool) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil
	}
	perm := uint32(st.Mode) & 0o777
	if perm&0o077 == 0 || (system && st.Uid == 0 && perm&0o027 == 0) {
		return nil
	}
	fix := "run: chmod 600 " + path + " (or use passwordeval instead of password)"
	if system {
		fix = "run: chown root:msmtp " + path + " && chmod 640 " + path + " (the system file may be read by its group, never by others, and written by root only)"
	}
	return &Error{Field: "config_file_mode",
		Msg: fmt.Sprintf("%s holds a password but can be read by other users (mode %04o)", path, perm),
		Fix: fix}
}
