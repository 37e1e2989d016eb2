package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresStoredSizeBoundsRead: a row whose message was rewritten past
// the queue's MaxSize (by hand, or by a writer other than Enqueue) while
// its size column still says small is not loaded into memory: opening it
// is ErrTooLarge, from the stored content's own length. Before, the size
// column alone decided, and the whole content was read.
func TestPostgresStoredSizeBoundsRead(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{MaxSize: 4 << 10})
	_, a := startServer(t)
	id, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(0)))
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, url)
	big := strings.Repeat("x", 64<<10)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.message SET content = convert_to($2, 'UTF8') WHERE id = $1`, id, big); err != nil {
		t.Fatal(err)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := it.Open()
	if err == nil {
		r.Close()
		t.Fatalf("Open of a %d-byte stored message with MaxSize 4 KiB succeeded; want ErrTooLarge", len(big))
	}
	if !errors.Is(err, outbox.ErrTooLarge) || !strings.Contains(err.Error(), id) {
		t.Errorf("Open = %v; want ErrTooLarge naming the item", err)
	}
}
