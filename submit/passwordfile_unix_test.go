//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"errors"
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

// TestCheckConfigPassword: the file TLSMAIL_SYSTEM_CONFIG names is the
// system file, which root may let its group read (0640); the same file
// under another name is a user's and must be 0600.
func TestCheckConfigPassword(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the system file's group rule needs a file root owns")
	}
	p := filepath.Join(t.TempDir(), "msmtprc")
	if err := os.WriteFile(p, []byte("password x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	sys := &Connector{Getenv: func(k string) string {
		if k == "TLSMAIL_SYSTEM_CONFIG" {
			return p
		}
		return ""
	}}
	if err := sys.CheckConfigPassword(p); err != nil {
		t.Errorf("as the system file: %v", err)
	}
	user := &Connector{Getenv: func(string) string { return "" }}
	var se *Error
	if err := user.CheckConfigPassword(p); !errors.As(err, &se) || se.Field != "config_file_mode" {
		t.Errorf("as a user's file: %v, want an *Error of Field config_file_mode", err)
	}
}
