//go:build windows

package schannel

import "testing"

// TestContainerPID: the crash sweep deletes a key container only when its
// name is exactly what newConnContainerName makes (the prefix, a decimal
// process id, a dash, 16 lowercase hex digits). A container of the user's
// own that merely starts with the prefix is not tlsmail's to delete.
func TestContainerPID(t *testing.T) {
	if pid, ok := containerPID(newConnContainerName()); !ok || pid == 0 {
		t.Errorf("containerPID(newConnContainerName()) = %d, %v; want this process's id", pid, ok)
	}
	for name, want := range map[string]bool{
		"tlsmail-conn-1234-0123456789abcdef":        true,
		"tlsmail-conn-1234-0123456789ABCDEF":        false, // hex.EncodeToString writes lowercase
		"tlsmail-conn-1234-0123456789abcde":         false, // 15 digits
		"tlsmail-conn-1234-0123456789abcdef0":       false, // 17 digits
		"tlsmail-conn-1234-backup":                  false,
		"tlsmail-conn-1234-0123456789abcdef-x":      false,
		"tlsmail-conn-+1234-0123456789abcdef":       false,
		"tlsmail-conn--0123456789abcdef":            false,
		"tlsmail-conn-99999999999-0123456789abcdef": false, // not a 32-bit process id
		"my-tlsmail-conn-1234-0123456789abcdef":     false,
	} {
		if _, ok := containerPID(name); ok != want {
			t.Errorf("containerPID(%q) ok = %v, want %v", name, ok, want)
		}
	}
}
