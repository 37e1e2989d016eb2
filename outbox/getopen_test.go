package outbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// TestGetOpenFileReplaced: an item from Get whose file a runner replaced
// since (narrow writes a file with fewer recipients, so a longer or
// shorter header, over the item's name before moving it to failed/) is
// not read at the offsets of the file Get read: Open says
// ErrNotFound (look it up again) instead of returning the new file's
// bytes shifted, which ended in a checksum *CorruptError ("damaged on
// disk") for an intact item. The message is larger than the first read,
// so Open reads it from the file.
func TestGetOpenFileReplaced(t *testing.T) {
	q, _, _ := newQueue(t)
	body := "Subject: big\r\n\r\n" + strings.Repeat("a line of the message\r\n", 1000)
	id, err := q.EnqueueData(context.Background(), Envelope{From: "joe@example.org", To: []string{"ann@example.net", "bob@example.net"}},
		testSettings.data(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	// The runner narrows it: the new file lands in failed/; put it back
	// where Get read the old one (the moment between narrow's rename
	// and the move to failed/).
	if _, err := q.Run(context.Background(), RunConfig{Deliver: func(_ context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			report(it, Result{Outcome: Permanent, Err: errors.New("550 no"), Recipients: []string{"bob@example.net"}})
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(q.sub("failed", id+msgSuffix), q.sub("msg", id+msgSuffix)); err != nil {
		t.Fatal(err)
	}
	r, err := it.Open()
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open of the replaced file: %v; want ErrNotFound", err)
		}
		return
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(b, []byte(body)) {
		t.Errorf("Open of the replaced file read %d bytes (equal: %v), %v; want the message, or ErrNotFound at Open", len(b), bytes.Equal(b, []byte(body)), err)
	}
}
