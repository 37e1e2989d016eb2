//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"fmt"
	"syscall"
)

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
