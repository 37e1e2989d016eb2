package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
)

// streamChunk is how much of a message one query of a streamed read
// (Get's items) fetches: the reader holds a few times that, whatever the
// message's size. A compressed bytea is decompressed from its start up to
// the slice asked for, so smaller slices cost the server more CPU for a
// large compressible message. Measured with `tlsmail queue show` of a
// 60 MiB message: read whole, 137 MB peak RSS; by 4 MiB slices 51 to 59
// MB; by 1 MiB slices 26 MB, in 0.17 s (incompressible) to 1.6 s (a
// repeated line, which the server decompresses 60 times).
const streamChunk = 1 << 20

// streamContent opens the message of the queued or failed item id for a
// reader that wants it in bounded memory (Get's items: `tlsmail queue
// show`): it is read a slice at a time (substring), each slice by a
// statement of its own, so that no connection is held and no snapshot kept
// open while the reader is slow (a pager). A message is written once, at
// enqueue, and moved to the failed table as it is, so the slices of one id
// are of one message: the reader checks that its length stays the same,
// a message over Options.MaxSize is refused as a claim refuses it
// (outbox.ErrTooLarge: not written by the enqueue), and an item removed (delivered) before its last slice was read is an
// error with outbox.ErrNotFound, never a message cut short.
func (q *Queue) streamContent(id string) (io.ReadCloser, error) {
	r := &contentStream{q: q, id: id, chunk: streamChunk}
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
	return r, nil
}

// contentStream reads a stored message a slice at a time.
type contentStream struct {
	q     *Queue
	id    string
	chunk int64
	// started: the first slice was read, and size is the message's length.
	started bool
	size    int64
	off     int64 // how much of it has been fetched
	buf     []byte
	err     error
}

// fetch reads the next slice of the message into r.buf.
func (r *contentStream) fetch() error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var b []byte
	var size int64
	err := r.q.pool.QueryRow(ctx, `SELECT substring(content FROM $2 FOR $3), octet_length(content)
		FROM (SELECT content FROM tlsmail.message WHERE id = $1
			UNION ALL SELECT content FROM tlsmail.failed WHERE id = $1 LIMIT 1) c`, r.id, r.off+1, r.chunk).Scan(&b, &size)
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
		return &Error{Op: "read", ID: r.id, Msg: fmt.Sprintf("the stored message changed while it was read (%d bytes, then %d): it was not written by tlsmail", r.size, size)}
	case int64(len(b)) == 0 && r.off < size:
		return &Error{Op: "read", ID: r.id, Msg: fmt.Sprintf("the database returned no bytes at offset %d of %d", r.off, size)}
	}
	r.started, r.size = true, size
	r.off += int64(len(b))
	r.buf = b
	return nil
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
