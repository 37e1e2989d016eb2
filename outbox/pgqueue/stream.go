package pgqueue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
)

// streamChunk is how much of a message one query of a streamed read
// (Get's items, and claimed items larger than inlineMax) fetches: the
// reader holds a few times that, whatever the message's size. A
// compressed bytea is decompressed from its start up to the slice asked
// for, so smaller slices cost the server more CPU for a large
// compressible message. Measured with `tlsmail queue show` of a 60 MiB
// message: read whole, 137 MB peak RSS; by 4 MiB slices 51 to 59 MB; by
// 1 MiB slices 26 MB, in 0.17 s (incompressible) to 1.6 s (a repeated
// line, which the server decompresses 60 times).
const streamChunk = 1 << 20

// streamContent opens the message of the queued or failed item id for a
// reader that wants it in bounded memory (Get's items: `tlsmail queue
// show`; a claimed item's, for its delivery): it is read a slice at a
// time (substring), each slice by a statement of its own, so that no
// connection is held and no snapshot kept open while the reader is slow
// (a pager, a slow server). tlsmail writes a message once, at enqueue,
// and moves it to the failed table as it is; a row changed between two
// slices otherwise (by another program) is an error, never two versions
// stitched together (fetch checks each slice's row version). A message
// over Options.MaxSize is refused (outbox.ErrTooLarge: not written by the
// enqueue), and an item removed (delivered) before its last slice was
// read is an error with outbox.ErrNotFound, never a message cut short.
//
// size is the item's recorded size (the outbox row's, as enqueued): a
// stored message of another length (a failed item whose message row was
// gone when it failed, stored empty) is an error, not a message shown
// short without one.
func (q *Queue) streamContent(id string, size int64) (io.ReadCloser, error) {
	r := &contentStream{q: q, id: id, sum: sha256.New()}
	// The first slice comes with the length.
	if err := r.fetch(); err != nil {
		return nil, err
	}
	if r.size > q.opts.MaxSize {
		// As content refuses it: a row tlsmail's enqueue did not write.
		return nil, &Error{Op: "open", ID: id, Err: outbox.ErrTooLarge,
			Msg: fmt.Sprintf("the stored message is %d bytes, over the queue's limit of %d: it was not written by tlsmail's enqueue", r.size, q.opts.MaxSize),
			Fix: "remove the item, and send the message again within the limit"}
	}
	if r.size != size {
		// Trying again shows the same: damaged, as a spool file whose
		// checksum fails.
		return nil, &Error{Op: "open", ID: id, Err: outbox.ErrDamaged,
			Msg: fmt.Sprintf("the stored message is %d bytes, but the item was queued with %d: its message was lost or changed outside tlsmail (a failed item whose message row was missing when it failed is stored empty)", r.size, size),
			Fix: "send the message again from its source, remove the item, and look for a program other than tlsmail that changes the queue's tables"}
	}
	return r, nil
}

// contentStream reads a stored message a slice at a time.
type contentStream struct {
	q  *Queue
	id string
	// started: the first slice was read, and size is the message's length.
	started bool
	size    int64
	off     int64 // how much of it has been fetched
	// table and version identify the row the slices are read from (its
	// table, its xmin); sum hashes the off bytes fetched.
	table, version string
	sum            hash.Hash
	buf            []byte
	err            error
}

// fetch reads the next slice of the message into r.buf, and checks that
// it is of the version of the row the earlier slices were read from: the
// same table and the same row version (xmin, which an UPDATE of the row
// changes). The one change allowed is the item's move, as it is, from the
// queue to the failed table (a permanent failure, or expiry while it is
// shown): the failed row's first r.off bytes must then hash as those read.
func (r *contentStream) fetch() error {
	ctx, cancel := r.q.bound(context.Background())
	defer cancel()
	var b []byte
	var size int64
	var table, version string
	err := r.q.pool.QueryRow(ctx, `SELECT t, v, substring(content FROM $2 FOR $3), octet_length(content)
		FROM (SELECT 'message' AS t, xmin::text AS v, content FROM tlsmail.message WHERE id = $1
			UNION ALL SELECT 'failed', xmin::text, content FROM tlsmail.failed WHERE id = $1 LIMIT 1) c`,
		r.id, r.off+1, streamChunk).Scan(&table, &version, &b, &size)
	first := !r.started
	switch {
	case errors.Is(err, pgx.ErrNoRows) && first:
		return &Error{Op: "open", ID: r.id, Msg: "no such item", Err: outbox.ErrNotFound}
	case errors.Is(err, pgx.ErrNoRows):
		return &Error{Op: "read", ID: r.id, Err: outbox.ErrNotFound,
			Msg: fmt.Sprintf("the item was removed (delivered, or by a queue remove) after %d of its %d bytes were read", r.off, r.size)}
	case err != nil:
		return connErr("read", err)
	case !first && size != r.size:
		return r.changed(fmt.Sprintf("%d bytes, then %d", r.size, size))
	case !first && table == r.table && version != r.version:
		return r.changed("its row was rewritten")
	case !first && table != r.table:
		if r.table != "message" || table != "failed" {
			return r.changed("it moved from the " + r.table + " table to the " + table + " table")
		}
		// Moved to failed: its content must be what was read so far.
		var sum []byte
		err := r.q.pool.QueryRow(ctx, `SELECT sha256(substring(content FROM 1 FOR $2)) FROM tlsmail.failed WHERE id = $1`,
			r.id, r.off).Scan(&sum)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return &Error{Op: "read", ID: r.id, Err: outbox.ErrNotFound,
				Msg: fmt.Sprintf("the item was removed (delivered, or by a queue remove) after %d of its %d bytes were read", r.off, r.size)}
		case err != nil:
			return connErr("read", err)
		case !bytes.Equal(sum, r.sum.Sum(nil)):
			return r.changed("it moved to the failed table with another message")
		}
	case int64(len(b)) == 0 && r.off < size:
		return &Error{Op: "read", ID: r.id, Msg: fmt.Sprintf("the database returned no bytes at offset %d of %d", r.off, size)}
	}
	r.started, r.size = true, size
	r.table, r.version = table, version
	r.off += int64(len(b))
	r.sum.Write(b)
	r.buf = b
	return nil
}

// changed is the error of a stored message that changed between two
// slices of a read (why says how): the bytes read so far are of another
// version of the message than the rest would be.
func (r *contentStream) changed(why string) error {
	return &Error{Op: "read", ID: r.id,
		Msg: fmt.Sprintf("the stored message changed while it was read (%s) after %d of its %d bytes: it was not written by tlsmail", why, r.off, r.size),
		Fix: "try again (show it again); if it keeps changing, look for a program other than tlsmail that changes the queue's tables"}
}

func (r *contentStream) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.off >= r.size {
			return 0, io.EOF
		}
		if r.err = r.fetch(); r.err != nil {
			return 0, r.err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close releases the slice held; nothing else is open between reads.
func (r *contentStream) Close() error {
	r.buf, r.err = nil, errors.New("read of a closed message")
	return nil
}
