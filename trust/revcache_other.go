//go:build !unix && !windows

package trust

import "os"

// groupOtherBitsMeaningful: outside Unix and Windows the permission bits
// do not describe other users' access.
const groupOtherBitsMeaningful = false

// ownedByUser: these platforms have no owner in os.FileInfo.
func ownedByUser(os.FileInfo) bool { return true }

// dirSecurityProblem: nothing more is known of who may write a directory.
func dirSecurityProblem(string, os.FileInfo) error { return nil }

// fileSecurityProblem: nothing more is known of who may write a file.
func fileSecurityProblem(*os.File) error { return nil }
