package config

import "os"

// Untrusted returns why a file must not be used because another user could
// have written it, or "" when it may: the rule a configuration file and an
// aliases file are held to (on Unix, owned by this process's effective user
// or by root, and writable by neither group nor others; elsewhere nothing
// is checked). Callers apply it to the files a configuration names, such
// as the CA file, whose content decides what is trusted.
func Untrusted(fi os.FileInfo) string { return untrusted(fi) }

// UntrustedFix says how to make path pass Untrusted.
func UntrustedFix(path string) string { return untrustedFix(path) }
