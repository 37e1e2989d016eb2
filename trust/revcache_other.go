//go:build !unix

package trust

import (
	"errors"
	"os"
)

// groupOtherBitsMeaningful: outside Unix (Windows) the permission bits do
// not describe other users' access; the cache directory under
// %LocalAppData% is the user's own by its ACL.
const groupOtherBitsMeaningful = false

// ownedByUser: Windows has no uid in os.FileInfo; the per-user cache
// directory's ACL is what keeps other users out.
func ownedByUser(os.FileInfo) bool { return true }

// openNoFollow refuses a symbolic link (checked just before opening).
func openNoFollow(name string) (*os.File, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, errors.New("symbolic link")
	}
	return os.Open(name)
}
