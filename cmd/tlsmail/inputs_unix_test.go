//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSendRefusesNonRegularInputs gives every file flag of send a device
// that never ends (/dev/zero, /dev/urandom), a named pipe without a writer
// or a directory. Each is refused before any connection, at once, with the
// flag's exit code (64 for the message's parts, 78 for the files that
// configure the session) and an error naming the file. --body-file
// /dev/zero used to spin forever before connecting, --ca /dev/zero to read
// until memory ran out.
func TestSendRefusesNonRegularInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	pem := writeFile(t, "cert.pem", []byte("not used"), 0o600)
	// Port 1 on loopback refuses: a run that got as far as connecting
	// would exit 75, not the input error.
	base := []string{"send", "--server", "127.0.0.1:1", "--from", "a@example.com", "--to", "b@example.org", "--timeout", "5s"}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"body-file /dev/zero", []string{"--body-file", "/dev/zero"}, exitUsage, "/dev/zero"},
		{"body-file fifo", []string{"--body-file", fifo}, exitUsage, "not a regular file"},
		{"html-file /dev/urandom", []string{"--html-file", "/dev/urandom"}, exitUsage, "/dev/urandom"},
		{"html-file directory", []string{"--html-file", dir}, exitUsage, "not a regular file"},
		{"attach /dev/zero", []string{"--attach", "/dev/zero"}, exitUsage, "/dev/zero"},
		{"message /dev/zero", []string{"--message", "/dev/zero"}, exitUsage, "--message"},
		{"message fifo", []string{"--message", fifo}, exitUsage, "standard input"},
		{"password-file /dev/zero", []string{"--user", "u", "--password-file", "/dev/zero"}, exitConfig, "--password-cmd"},
		{"password-file fifo", []string{"--user", "u", "--password-file", fifo}, exitConfig, "not a regular file"},
		{"ca /dev/zero", []string{"--ca", "/dev/zero"}, exitConfig, "--ca"},
		{"ca fifo", []string{"--ca", fifo}, exitConfig, "not a regular file"},
		{"cert /dev/zero", []string{"--cert", "/dev/zero"}, exitConfig, "--cert"},
		{"key /dev/urandom", []string{"--cert", pem, "--key", "/dev/urandom"}, exitConfig, "--key"},
		{"config /dev/zero", []string{"--config", "/dev/zero"}, exitConfig, "not a regular file"},
		{"config fifo", []string{"--config", fifo}, exitConfig, "not a regular file"},
	}
	if _, err := os.Stat("/proc/self/pagemap"); err == nil {
		// Says it is empty (a regular file of size 0) and holds hundreds
		// of GB: --body-file read it for hours before connecting.
		tests = append(tests, struct {
			name string
			args []string
			code int
			want string
		}{"body-file /proc/self/pagemap", []string{"--body-file", "/proc/self/pagemap"}, exitUsage, "/proc/self/pagemap"})
	}
	for _, tc := range tests {
		r := runWithin(t, 20*time.Second, append(append([]string{}, base...), tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "regular file") {
			t.Errorf("%s: want exit %d and an error with %q and \"regular file\", got\n%s", tc.name, tc.code, tc.want, r)
		}
	}
}
