//go:build !unix

package certinfo

import "io/fs"

// owner describes who owns the file, for permission errors: nothing on
// systems without Unix owners (on Windows the ACL decides).
func owner(fi fs.FileInfo) string { return "" }
