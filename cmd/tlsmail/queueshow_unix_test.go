//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestQueueShowUntrustedFile: an item file that is not tlsmail's (a
// symbolic link to another file, a FIFO) is refused unread, and the error
// says so and to find who put it there: not "the queued copy was damaged
// on disk: send the message again, remove the item", which is the fix of
// a checksum error, and not the linked file's content.
func TestQueueShowUntrustedFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	if _, err := outbox.Open(dir, outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("password hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const link, fifo = "00000000000000000000000001", "00000000000000000000000002"
	if err := os.Symlink(secret, filepath.Join(dir, "msg", link+".msg")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "msg", fifo+".msg"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{link, fifo} {
		r := cli{args: []string{"queue", "show", "--queue-dir", dir, id}}.run(t)
		if r.code == 0 || strings.Contains(r.stdout+r.stderr, "hunter2") || !strings.Contains(r.stderr, "untrusted") ||
			strings.Contains(r.stderr, "damaged on disk") {
			t.Errorf("queue show of an untrusted item file %s: want an error saying it is untrusted, not damaged, and nothing of it shown:\n%s", id, r)
		}
	}
}
