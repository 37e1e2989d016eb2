package pgqueue_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresGetStreams: an item from Get opens its message a slice at a
// time: a 3.5 MiB message (several slices) reads back byte for byte, and
// one removed while it is being read ends in an error with
// outbox.ErrNotFound, never in a message silently cut short.
func TestPostgresGetStreams(t *testing.T) {
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	content := bytes.Repeat([]byte("0123456789abcdef\r\n"), (7<<19)/18)
	id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	open := func() io.ReadCloser {
		it, err := q.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		r, err := it.Open()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := open()
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes (%v); want the %d stored", len(got), err, len(content))
	}

	r = open()
	defer r.Close()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if err := q.Remove(id); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("reading on after the item was removed: %d more bytes, error %v; want outbox.ErrNotFound", len(rest), err)
	}
	if _, err := q.Get(id); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get of the removed item: %v", err)
	}
}
