package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
)

// failingReader gives n bytes of a message and then fails with err, as a
// PostgreSQL queue's streamed read does when the item is removed, moved
// or rewritten by another runner between two slices, or when the
// database cannot be reached for a slice.
type failingReader struct {
	left int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, r.err
	}
	n := min(len(p), r.left)
	line := "0123456789abcdef\r\n"
	for i := range n {
		p[i] = line[i%len(line)]
	}
	r.left -= n
	return n, nil
}

func (r *failingReader) Close() error { return nil }

// TestDeliverSourceFailsMidData: an item whose stored message cannot be
// read to its end during DATA (the queue's read failed: another runner
// took it over after a lease expiry and removed it, the database went
// away between two slices) must not reach the server as a message (the
// connection is closed without the end marker) and must be deferred, not
// moved to the failed items as a bounce: the message itself is fine, and
// the next attempt reads it again (or finds it gone). Before, the
// reader's error came back as a KindUsage *smtp.Error (Temporary false:
// "check the message file"), which Classify made Permanent. The next item
// of the batch is still delivered, on a new session.
func TestDeliverSourceFailsMidData(t *testing.T) {
	srv, a := startTestServer(t)
	data, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	causes := []struct {
		name string
		err  error
	}{
		{"removed", &outbox.Error{Op: "read", ID: "x", Err: outbox.ErrNotFound, Msg: "the item was removed after 2097152 of its 3145728 bytes were read"}},
		{"database unreachable", &outbox.Error{Op: "read", Msg: "the queue database is unavailable", Err: io.ErrUnexpectedEOF}},
		{"changed", &outbox.Error{Op: "read", ID: "x", Msg: "the stored message changed while it was read (its row was rewritten)"}},
	}
	const size = 3 << 20
	for i, tc := range causes {
		t.Run(tc.name, func(t *testing.T) {
			env := outbox.Envelope{From: "a@example.org", To: []string{fmt.Sprintf("b%d@example.net", i)}, Body: "7BIT"}
			bad := outbox.NewItem(outbox.Item{ID: fmt.Sprintf("bad%d", i), Size: size, Envelope: env}, data,
				func() (io.ReadCloser, error) { return &failingReader{left: 2 << 20, err: tc.err}, nil })
			okEnv := env
			okEnv.To = []string{fmt.Sprintf("ok%d@example.net", i)}
			okContent := "Subject: ok\r\n\r\nhello\r\n"
			good := outbox.NewItem(outbox.Item{ID: fmt.Sprintf("ok%d", i), Size: int64(len(okContent)), Envelope: okEnv}, data,
				func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(okContent)), nil })
			var mu sync.Mutex
			got := map[string]outbox.Result{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := (&Deliverer{}).Deliver(ctx, []*outbox.Item{bad, good}, func(it *outbox.Item, r outbox.Result) {
				mu.Lock()
				got[it.ID] = r
				mu.Unlock()
			})
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			r, ok := got[bad.ID]
			if !ok || r.Outcome != outbox.Temporary {
				t.Errorf("the item whose read failed mid-DATA: %v (reported %v); want temporary", r.Outcome, ok)
			}
			if !errors.Is(r.Err, tc.err) {
				t.Errorf("its error %v does not wrap the read's %v", r.Err, tc.err)
			}
			if r := got[good.ID]; r.Outcome != outbox.Delivered {
				t.Errorf("the next item: %v (%v); want delivered", r.Outcome, r.Err)
			}
			ms, err := srv.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.To[0] == env.To[0] {
					t.Errorf("the server stored the message whose read failed (%s)", m.Path)
				}
			}
		})
	}
}
