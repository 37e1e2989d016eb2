//go:build !windows

package submit

// platformConfigText is the message, without its fix, of a client
// certificate the operating system's store cannot find or open (ok: err
// is one): there is none here (Windows only).
func platformConfigText(error) (msg string, ok bool) { return "", false }
