package submit

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// changingStore is a spool directory in which something happens to an
// item between WriteItem's Get and its Open (once): what a runner does
// when it finishes the item while `queue show` looks it up.
type changingStore struct {
	*outbox.Queue
	between func()
}

func (s *changingStore) Get(id string) (*outbox.Item, error) {
	it, err := s.Queue.Get(id)
	if f := s.between; f != nil {
		s.between = nil
		f()
	}
	return it, err
}

// TestWriteItemChangedAfterGet: an item that a runner moves to failed/
// (its recipients narrowed: a new file) or delivers between WriteItem's
// lookup and its open is shown as it is now, or reported as gone with
// outbox.ErrNotFound (exit 66: it left the outbox), never as a read
// error of the spool directory (exit 75, "check its permissions"). The
// message is larger than the spool's first read, so it is read from the
// file at Open, not from memory.
func TestWriteItemChangedAfterGet(t *testing.T) {
	ctx := context.Background()
	q, err := outbox.Open(filepath.Join(testdir.New(t), "queue"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("Subject: big\r\n\r\n" + strings.Repeat("a line of the message\r\n", 1000))
	env := outbox.Envelope{From: "ann@example.com", To: []string{"bob@example.org", "carl@example.org"}}
	enqueue := func() string {
		id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{"host":"127.0.0.1"}`)}, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	run := func(res outbox.Result) func() {
		return func() {
			if _, err := q.Run(ctx, outbox.RunConfig{Deliver: func(_ context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
				for _, it := range batch {
					report(it, res)
				}
				return nil
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}

	id := enqueue()
	var out bytes.Buffer
	s := &changingStore{Queue: q, between: run(outbox.Result{Outcome: outbox.Permanent, Err: errors.New("550 no"), Recipients: []string{"carl@example.org"}})}
	if n, err := WriteItem(&out, s, id, ShowOptions{}); err != nil || !bytes.Equal(out.Bytes(), content) {
		t.Errorf("moved to failed/ between lookup and open: wrote %d bytes (equal: %v), %v; want the message", n, bytes.Equal(out.Bytes(), content), err)
	}
	if it, err := q.Get(id); err != nil || it.FailedAt.IsZero() {
		t.Fatalf("the item was not moved to failed/: %v", err)
	}

	id = enqueue()
	out.Reset()
	s = &changingStore{Queue: q, between: run(outbox.Result{Outcome: outbox.Delivered})}
	if n, err := WriteItem(&out, s, id, ShowOptions{}); n != 0 || !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("delivered between lookup and open: wrote %d bytes, %v; want outbox.ErrNotFound", n, err)
	}
}
