//go:build unix

package config

import (
	"os"
	"syscall"
)

// checkOwner returns why a configuration or aliases file must not be
// used, or nil when it may: a file that another user could have written could
// run commands as the user reading it (eval, passwordeval) or send their
// mail elsewhere (host, aliases) — for root's cron mail through
// /etc/msmtprc, as root. The file must belong to this process's effective
// user or to root, and must not be writable by group or others (as
// OpenSSH requires of its configuration files; see ownerVerdict). msmtp
// 1.8.23 checks none of this.
func checkOwner(fi os.FileInfo) *Distrust {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return ownerVerdict(uint64(st.Uid), uint64(os.Geteuid()), fi.Mode())
}

// untrustedFix says how to make the file trusted.
func untrustedFix(path string) string {
	return "check what the file holds, then make it belong to you (or to root) and writable by its owner alone: chmod go-w " + path
}
