package config

import (
	"io/fs"
	"strings"
	"testing"
)

// TestOwnerVerdict: the decision behind the refusal of a configuration or
// aliases file, for every owner and mode, whoever runs the tests (the
// "owned by another user" case end to end needs root: see
// TestLoadRefusesFilesOthersCanWrite).
func TestOwnerVerdict(t *testing.T) {
	const self, other = 1000, 65534
	tests := []struct {
		name  string
		owner uint64
		self  uint64
		perm  fs.FileMode
		want  string // a part of the reason; "" for a file that may be used
		other bool   // Distrust.OtherOwner
	}{
		{"mine, 0600", self, self, 0o600, "", false},
		{"mine, 0644", self, self, 0o644, "", false},
		{"mine, 0400", self, self, 0o400, "", false},
		{"root's, 0644 (the system file)", 0, self, 0o644, "", false},
		{"root reading root's", 0, 0, 0o600, "", false},
		{"another user's, 0600", other, self, 0o600, "is owned by uid 65534, neither this user (uid 1000) nor root", true},
		{"another user's, read by root", other, 0, 0o600, "is owned by uid 65534, neither this user (uid 0) nor root", true},
		{"another user's and world-writable", other, self, 0o666, "is owned by uid 65534", true},
		{"mine, group-writable", self, self, 0o620, "can be written by other users (mode 0620)", false},
		{"mine, world-writable", self, self, 0o602, "can be written by other users (mode 0602)", false},
		{"root's, world-writable", 0, self, 0o666, "can be written by other users (mode 0666)", false},
		{"type bits are not permissions", self, self, fs.ModeDir | 0o700, "", false},
		{"setuid is not writable", self, self, fs.ModeSetuid | 0o600, "", false},
	}
	for _, tt := range tests {
		d := ownerVerdict(tt.owner, tt.self, tt.perm)
		var got string
		if d != nil {
			got = d.Why
			if d.OtherOwner != tt.other {
				t.Errorf("%s: OtherOwner %v, want %v", tt.name, d.OtherOwner, tt.other)
			}
		}
		if (tt.want == "") != (d == nil) || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
