//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckPasswordFile: a user file holding a password must be 0600; the
// system file may be 0640 when root owns it (Debian's root:msmtp), never
// readable by others.
func TestCheckPasswordFile(t *testing.T) {
	rootOwned := os.Geteuid() == 0
	tests := []struct {
		mode   os.FileMode
		system bool
		ok     bool
	}{
		{0o600, false, true},
		{0o640, false, false},
		{0o604, false, false},
		{0o600, true, true},
		{0o640, true, rootOwned}, // only when root owns it
		{0o644, true, false},
		{0o604, true, false},
	}
	for _, tc := range tests {
		p := filepath.Join(t.TempDir(), "msmtprc")
		if err := os.WriteFile(p, []byte("password x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckPasswordFile(p, tc.system)
		if (err == nil) != tc.ok {
			t.Errorf("mode %04o system %v: err %v, want ok=%v", tc.mode, tc.system, err, tc.ok)
		}
	}
}
