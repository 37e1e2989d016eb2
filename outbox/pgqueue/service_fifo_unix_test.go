//go:build unix

package pgqueue_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestParseConfigServiceFileNotRegular: a service file that is a FIFO
// (PGSERVICEFILE=/some/fifo, servicefile=) or larger than 1 MiB is an
// error naming it (pgqueue.ErrService), not read. Before, the FIFO hung
// ParseConfig, so `queue run` and every command with the queue URL, for
// ever (the open waits for a writer).
func TestParseConfigServiceFileNotRegular(t *testing.T) {
	dir := testdir.New(t)
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.conf")
	if err := os.WriteFile(huge, []byte("[q]\nhost=db.example.net\n"+strings.Repeat("# padding\n", 120000)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGSERVICE", "")
	t.Setenv("PGSSLMODE", "")
	t.Setenv("PGSYSCONFDIR", "")
	for _, tt := range []struct{ name, conn, env, file string }{
		{"PGSERVICEFILE a FIFO", "service=q", fifo, fifo},
		{"servicefile= a FIFO", "service=q servicefile=" + fifo, "", fifo},
		{"a service file over 1 MiB", "service=q", huge, huge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGSERVICEFILE", tt.env)
			done := make(chan error, 1)
			go func() {
				_, err := pgqueue.ParseConfig(tt.conn)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, pgqueue.ErrService) || !strings.Contains(err.Error(), tt.file) {
					t.Fatalf("ParseConfig(%q) = %v; want ErrService naming the file", tt.conn, err)
				}
			case <-time.After(20 * time.Second):
				// Release the open (a writer), so the test ends.
				if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				<-done
				t.Fatalf("ParseConfig(%q) still reading the service file after 20 s", tt.conn)
			}
		})
	}
}
