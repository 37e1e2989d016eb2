//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package submit

// checkCommandFile checks nothing here: as for the outbox's own files, on
// Windows the file lives in the user's profile and ACLs are not examined.
func checkCommandFile(path string) error { return nil }

// CheckPasswordFile checks nothing here: file modes do not say who may
// read a file (the ACLs of Windows do).
func CheckPasswordFile(path string, system bool) error { return nil }
