package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// showContent is a message of about n bytes as a queue may hold one: CRLF
// lines, a line that is only a dot and lines that start with one (which
// the deliverer dot-stuffs on the wire, not in the store), 8-bit and NUL
// bytes, a bare LF and a bare CR, and no line break at the end.
func showContent(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: show %d\r\nMessage-ID: <%d@test>\r\n\r\n.\r\n..leading dots\r\n\xe4\xf6\x00\rbare CR\nbare LF\r\n", seed, seed)
	line := make([]byte, 0, 100)
	for b.Len() < n {
		line = line[:0]
		for range 10 + r.IntN(80) {
			line = append(line, byte(32+r.IntN(95)))
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString("no line break at the end")
	return b.Bytes()
}

// TestQueueShow: `queue show ID` prints a queued or a failed item's
// message byte for byte as stored, on the spool directory and on
// PostgreSQL (whose failed items could only be read with SQL before), a
// 5 MB one included (several of the database's slices); --envelope adds
// postcat's sections with the sender, recipients, attempts and the last
// error or the failure's reason; an unknown ID exits 66 saying so.
func TestQueueShow(t *testing.T) {
	ctx := context.Background()
	backends := []struct {
		name string
		open func(t *testing.T) (outbox.Store, []string)
	}{
		{"spool", func(t *testing.T) (outbox.Store, []string) {
			dir := filepath.Join(t.TempDir(), "queue")
			q, err := outbox.Open(dir, outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return q, []string{"--queue-dir", dir}
		}},
		{"postgres", func(t *testing.T) (outbox.Store, []string) {
			url, _ := pgInitDB(t, "show")
			q, err := pgqueue.Open(ctx, url, pgqueue.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(q.Close)
			return q, []string{"--queue-url", url}
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			q, where := be.open(t)
			enqueue := func(content []byte, to string) string {
				id, err := q.EnqueueData(ctx, outbox.Envelope{From: "ann@example.com", To: []string{to, "carl@example.org"}},
					outbox.Data{Settings: []byte(`{"host":"127.0.0.1"}`)}, bytes.NewReader(content))
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			small, big, lost := showContent(600, 1), showContent(5<<20, 2), showContent(2000, 3)
			smallID, bigID, failedID := enqueue(small, "bob@example.org"), enqueue(big, "dora@example.org"), enqueue(lost, "gone@example.org")
			// One attempt: the lost message is refused for good, the
			// others deferred with a last error that holds a line break
			// and an escape sequence (a server's reply).
			if _, err := q.Run(ctx, outbox.RunConfig{Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
				for _, it := range batch {
					if it.ID == failedID {
						report(it, outbox.Result{Outcome: outbox.Permanent, Err: errors.New("550 5.1.1 no such user")})
					} else {
						report(it, outbox.Result{Outcome: outbox.Temporary, Err: errors.New("451 4.3.0 try\r\nlater \x1b[2J")})
					}
				}
				return nil
			}}); err != nil {
				t.Fatal(err)
			}
			show := func(args ...string) result {
				return cli{args: append(append([]string{"queue", "show"}, where...), args...)}.run(t)
			}
			for _, tc := range []struct {
				name, id string
				want     []byte
			}{{"queued", smallID, small}, {"5 MB", bigID, big}, {"failed", failedID, lost}} {
				r := show(tc.id)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("%s: queue show %s: exit %d\n%s", tc.name, tc.id, r.code, r.stderr)
				}
				if !bytes.Equal([]byte(r.stdout), tc.want) {
					t.Errorf("%s: queue show printed %d bytes that are not the %d stored", tc.name, len(r.stdout), len(tc.want))
				}
			}

			r := show("--envelope", failedID)
			wantFailed := "*** ENVELOPE " + failedID + " ***\nstate: failed\n"
			if r.code != 0 || !strings.HasPrefix(r.stdout, wantFailed) || !strings.Contains(r.stdout, "\nsender: ann@example.com\nrecipient: gone@example.org\nrecipient: carl@example.org\n") ||
				!strings.Contains(r.stdout, "\nreason: 550 5.1.1 no such user\n") ||
				!strings.Contains(r.stdout, "\n*** MESSAGE CONTENTS "+failedID+" ***\n"+string(lost)+"\n*** MESSAGE FILE END "+failedID+" ***\n") {
				t.Errorf("queue show --envelope of the failed item:\n%s", r)
			}
			r = show("--envelope", smallID)
			if r.code != 0 || !strings.Contains(r.stdout, "\nstate: queued\n") || !strings.Contains(r.stdout, "\nattempts: 1\n") ||
				!strings.Contains(r.stdout, "\nlast_error: 451 4.3.0 try later \\x1b[2J\n") || !strings.Contains(r.stdout, "\nnext_attempt: ") {
				t.Errorf("queue show --envelope of the deferred item (its last error quoted, on one line):\n%s", r)
			}

			r = show("00000000000000000000000000000000")
			if r.code != exitNoInput || r.stdout != "" || !strings.Contains(r.stderr, "is not in the outbox") || !strings.Contains(r.stderr, "queue list --failed") {
				t.Errorf("queue show of an unknown ID: want exit %d, nothing on standard output, and the error:\n%s", exitNoInput, r)
			}
		})
	}
}

// TestQueueShowOutputFails: standard output that cannot take the message
// (a full disk: /dev/full) is an output error, exit 74 (EX_IOERR) naming
// standard output, with and without --envelope; not exit 75 with the
// outbox's "check the outbox directory's permissions and free space",
// which sends the user to look at an outbox that is fine.
func TestQueueShowOutputFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.EnqueueData(context.Background(), outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org"}},
		outbox.Data{Settings: []byte(`{"host":"127.0.0.1"}`)}, bytes.NewReader(showContent(600, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{id}, {"--envelope", id}} {
		cmd := exec.Command(tlsmailBin, append([]string{"queue", "show", "--queue-dir", dir}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitIOErr || !strings.Contains(stderr.String(), "standard output") ||
			strings.Contains(stderr.String(), "outbox directory") {
			t.Errorf("queue show %q > /dev/full: %v; want exit %d naming standard output:\n%s", args, err, exitIOErr, stderr.String())
		}
	}
	if _, err := q.Get(id); err != nil {
		t.Errorf("the item after the failed shows: %v", err)
	}
}
