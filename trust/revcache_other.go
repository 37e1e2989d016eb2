//go:build !unix

package trust

import "os"

// groupOtherBitsMeaningful: outside Unix (Windows) the permission bits do
// not describe other users' access; the cache directory under
// %LocalAppData% is the user's own by its ACL.
const groupOtherBitsMeaningful = false

// ownedByUser: Windows has no uid in os.FileInfo; the per-user cache
// directory's ACL is what keeps other users out.
func ownedByUser(os.FileInfo) bool { return true }
