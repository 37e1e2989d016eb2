package config

import "os"

// CheckOwner applies to fi the rule a configuration file and an aliases
// file are held to, and returns why the file must not be used because
// another user could have written it, or nil when it may: on Unix, it must
// be owned by this process's effective user or by root, and writable by
// neither group nor others; elsewhere nothing is checked. Callers apply it
// to the files a configuration names, such as the CA file, whose content
// decides what is trusted, and to a configuration file read again to run
// its passwordeval.
func CheckOwner(fi os.FileInfo) *Distrust { return checkOwner(fi) }

// Untrusted is CheckOwner's reason, or "" when the file may be used.
func Untrusted(fi os.FileInfo) string { return untrusted(fi) }

// UntrustedFix says how to make path pass CheckOwner.
func UntrustedFix(path string) string { return untrustedFix(path) }

func untrusted(fi os.FileInfo) string {
	if d := checkOwner(fi); d != nil {
		return d.Why
	}
	return ""
}
