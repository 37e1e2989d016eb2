//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/server"
)

// hugeSparse makes a sparse file of size bytes (no disk blocks) that
// starts with head.
func hugeSparse(t *testing.T, name string, head []byte, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, head, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Skipf("cannot make a sparse file of %d bytes: %v", size, err)
	}
	return p
}

// TestSendHugeInputsWithinTimeout gives send a 32 GiB sparse file as
// --body-file, --html-file and --message. The work before connecting must
// not grow with the file: the SIZE parameter is computed from the file's
// size (not by encoding it), and the 8-bit scan of --message reads a
// bounded prefix. A 10 GB body used to run for minutes before connecting,
// whatever --timeout said. With a server whose SIZE limit is 1 MiB the
// message is refused before any data (exit 65); with no server at all the
// run ends with the connection failure (exit 75). Each within --timeout 2s
// plus a generous margin for a loaded machine.
func TestSendHugeInputsWithinTimeout(t *testing.T) {
	t.Parallel()
	const size = 32 << 30
	srv := startServer(t, func(c *server.Config) { c.MaxMessageBytes = 1 << 20 })
	body := hugeSparse(t, "body.txt", []byte("Hello.\n"), size)
	msg := hugeSparse(t, "msg.eml", []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: huge\r\n\r\nHello.\r\n"), size)
	toServer := []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(),
		"--from", "a@example.com", "--to", "b@example.org", "--subject", "huge", "--timeout", "2s"}
	nowhere := []string{"send", "--server", "127.0.0.1:1", "--from", "a@example.com", "--to", "b@example.org", "--timeout", "2s"}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"body-file, SIZE limit", append(append([]string{}, toServer...), "--body-file", body), exitRejected, "at most 1048576"},
		{"html-file, SIZE limit", append(append([]string{}, toServer...), "--html-file", body), exitRejected, "at most 1048576"},
		{"body-file, no server", append(append([]string{}, nowhere...), "--body-file", body), exitTempFail, ""},
		{"message, no server", append(append([]string{}, nowhere...), "--message", msg), exitTempFail, ""},
	}
	for _, tc := range tests {
		start := time.Now()
		r := runWithin(t, 2*time.Second+13*time.Second, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d with %q, got (after %v)\n%s", tc.name, tc.code, tc.want, time.Since(start), r)
		}
	}
}
