//go:build !windows

package submit

// platformConfigError reports a client certificate the operating system's
// store cannot find or open: there is none here (Windows only).
func platformConfigError(error) bool { return false }

// platformConfigText is platformConfigError's message without its fix.
func platformConfigText(error) (string, bool) { return "", false }
