package pgqueue_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

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
	r := openItem(t, q, id)
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes (%v); want the %d stored", len(got), err, len(content))
	}

	r = openItem(t, q, id)
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

// openItem gets the item id from q and opens its message, failing the
// test if either fails; the caller closes the reader.
func openItem(t *testing.T, q *pgqueue.Queue, id string) io.ReadCloser {
	t.Helper()
	it, err := q.Get(id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	r, err := it.Open()
	if err != nil {
		t.Fatalf("Open of item %s: %v", id, err)
	}
	return r
}

// TestPostgresGetStreamChangedRow: the slices of one read are of one
// version of the stored message. A content row rewritten between two
// slices (by hand, or by a program other than tlsmail) with a message of
// the same length is an error, never the first slice of one message
// stitched to the rest of another; the item moved whole to the failed
// table (as a permanent failure moves it) between two slices still reads
// back byte for byte.
func TestPostgresGetStreamChangedRow(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	db := dial(t, url)
	content := bytes.Repeat([]byte("0123456789abcdef\r\n"), (5<<19)/18)
	enqueue := func() string {
		id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	open := func(id string) io.ReadCloser {
		r := openItem(t, q, id)
		t.Cleanup(func() { r.Close() })
		return r
	}
	head := make([]byte, 1<<20)

	// Rewritten in place, same length: the second version's bytes differ.
	id := enqueue()
	r := open(id)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	other := bytes.ToUpper(content)
	if _, err := db.Exec(ctx, `UPDATE tlsmail.message SET content = $2 WHERE id = $1`, id, other); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err == nil {
		got := append(append([]byte(nil), head...), rest...)
		t.Errorf("the row was rewritten between two slices: read %d bytes without an error (equal to the first version: %v, to the second: %v); want an error",
			len(got), bytes.Equal(got, content), bytes.Equal(got, other))
	}
	// A change while it is read is temporary (the row may be read whole
	// next time), not a damaged item, and the fix says to try again.
	var oe *outbox.Error
	if err != nil && (errors.Is(err, outbox.ErrDamaged) || !errors.As(err, &oe) || !strings.Contains(oe.Fix, "try again")) {
		t.Errorf("the row rewritten while read: %v; want an error that is not outbox.ErrDamaged and whose fix says to try again", err)
	}

	// Moved whole to the failed table (what a permanent failure does).
	id = enqueue()
	r = open(id)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`INSERT INTO tlsmail.failed (id, created, envelope, settings, group_key, content, size, attempts, last_error, failed_at, reason, permanent)
			SELECT o.id, o.created, m.envelope, m.settings, o.group_key, m.content, o.size, o.attempts, o.last_error, now(), 'test', true
			FROM tlsmail.outbox o JOIN tlsmail.message m USING (id) WHERE o.id = $1`,
		`DELETE FROM tlsmail.outbox WHERE id = $1`,
		`DELETE FROM tlsmail.message WHERE id = $1`,
	} {
		if _, err := tx.Exec(ctx, s, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rest, err = io.ReadAll(r)
	if got := append(append([]byte(nil), head...), rest...); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the item moved to failed between two slices: read %d bytes (%v); want the %d stored", len(got), err, len(content))
	}
}

// TestPostgresGetRemoveBadID: an ID no item can have, because PostgreSQL's
// text cannot hold it (invalid UTF-8, a NUL byte: argv or a program's
// input), is outbox.ErrNotFound for Get and Remove (`queue show` and
// `queue remove` exit 66 and 64, "not in the outbox"), not the database
// refusing the statement (exit 75, "see the server's log": a retry
// changes nothing).
func TestPostgresGetRemoveBadID(t *testing.T) {
	q := openPG(t, newDB(t), pgqueue.Options{})
	for _, id := range []string{"\xff\xfe", "abc\x00def"} {
		if _, err := q.Get(id); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("Get(%q) = %v; want outbox.ErrNotFound", id, err)
		}
		if err := q.Remove(id); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("Remove(%q) = %v; want outbox.ErrNotFound", id, err)
		}
	}
}

// TestPostgresGetContentLost: a failed item whose message row was gone
// when it failed (deleted by hand: the run moved it to the failed items
// with an empty content) is not shown as an empty message without an
// error: the stored length differs from the item's size, and reading it
// says so, as a damaged item (outbox.ErrDamaged: trying again reads the
// same; before, nothing told it from a passing failure and the command
// line exited 75).
func TestPostgresGetContentLost(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, bytes.NewReader([]byte("Subject: x\r\n\r\nbody\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, url).Exec(ctx, `DELETE FROM tlsmail.message WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()}); err != nil || st.Failed != 1 {
		t.Fatalf("Run = %+v, %v; want the row failed", st, err)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := it.Open()
	if err == nil {
		var b []byte
		b, err = io.ReadAll(r)
		r.Close()
		if err == nil {
			t.Errorf("the failed item of size %d whose message was lost read as %d bytes without an error", it.Size, len(b))
		}
	}
	if err != nil && !errors.Is(err, outbox.ErrDamaged) {
		t.Errorf("reading the failed item whose message was lost: %v; want outbox.ErrDamaged", err)
	}
}

// TestPostgresClaimStreams: a claimed item larger than a claim inlines is
// read for its delivery a slice at a time, as Get's items are, so that a
// runner delivering several large messages at once holds a few MiB of
// each. Shown by a rewrite of the row after the first slice was read: the
// rest of the read fails (the slices are of one row version). Before, the
// open read the whole message (up to 64 MiB) into memory, and the rest of
// the read went on from that copy.
func TestPostgresClaimStreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	db := dial(t, url)
	content := bytes.Repeat([]byte("0123456789abcdef\r\n"), (3<<20)/18)
	id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{}`)}, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	items, err := q.Claim(ctx, 1, true, nil, time.Now().Add(time.Hour))
	if err != nil || len(items) != 1 || items[0].ID != id {
		t.Fatalf("Claim = %v, %v; want the item %s", items, err, id)
	}
	r, err := items[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(head, content[:len(head)]) {
		t.Fatal("the first slice is not the message's start")
	}
	if _, err := db.Exec(ctx, `UPDATE tlsmail.message SET content = $2 WHERE id = $1`, id, bytes.ToUpper(content)); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); err == nil {
		t.Fatalf("read the rest (%d bytes) without an error after the row was rewritten: the open had read the whole message", len(rest))
	}
}
