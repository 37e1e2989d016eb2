//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestUnlockReleasesWhileDescriptorCopied: a flock belongs to the open file
// description, which a process forked (for a password command, say) before
// its exec also references through its copy of the descriptor. Closing our
// descriptor then does not release the lock until that process execs or
// exits: another runner finds the item busy. A dup stands in for the
// forked child's copy; unlock must release the lock explicitly
// (LOCK_UN), for both kinds of locked file (lockItem's read-only one and
// openLocked's).
func TestUnlockReleasesWhileDescriptorCopied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "item")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		lock func() (*lockedFile, error)
		fd   func(*lockedFile) int
	}{
		{"lockItem", func() (*lockedFile, error) { return lockItem(path, func(string) {}) }, func(lf *lockedFile) int { return lf.ro.fd }},
		{"openLocked", func() (*lockedFile, error) { return openLocked(path, os.O_RDONLY) }, func(lf *lockedFile) int { return int(lf.f.Fd()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lf, err := tc.lock()
			if err != nil || lf == nil {
				t.Fatalf("lock: %v, %v", lf, err)
			}
			child, err := syscall.Dup(tc.fd(lf)) // the forked process's copy
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(child)
			lf.unlock()
			again, err := lockItem(path, func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			if again == nil {
				t.Fatal("the item is still locked after unlock while a copy of the descriptor lives (a forked password command holds it)")
			}
			again.unlock()
		})
	}
}
