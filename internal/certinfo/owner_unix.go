//go:build unix

package certinfo

import (
	"fmt"
	"io/fs"
	"syscall"
)

// owner describes who owns the file, for permission errors.
func owner(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf(", owner uid %d gid %d", st.Uid, st.Gid)
	}
	return ""
}
