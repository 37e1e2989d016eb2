package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// DefaultMaxMessageSize is the largest message Enqueue stores unless
// Options.MaxMessageSize says otherwise: 64 MiB. A spool must not fill the
// disk when its producer never stops (`yes | sendmail -t`); the server's
// own limit (its SIZE, RFC 1870) decides at delivery. 64 MiB is well above
// what mail servers commonly accept (Gmail takes 25 MB; Postfix's default
// message_size_limit is 10 MB), so no message a server would take is
// refused here, and small enough that a runaway producer costs little disk.
const DefaultMaxMessageSize = 64 << 20

// ErrTooLarge is the cause of the *Error Enqueue returns for content
// larger than Options.MaxMessageSize.
var ErrTooLarge = errors.New("message too large for the outbox")

// maxMessageSize is the limit Enqueue applies, or -1 for none.
func (q *Queue) maxMessageSize() int64 {
	switch n := q.opts.MaxMessageSize; {
	case n == 0:
		return DefaultMaxMessageSize
	case n < 0:
		return -1
	default:
		return n
	}
}

// Data is an item's delivery settings as a layer above the outbox encodes
// them (tlsmail's submit.Account): the outbox stores them as they are and
// never interprets them, so that it imports nothing above it. They must
// not hold a secret: the spool is a plain file.
//
// Run hands items whose settings are equal, byte for byte as stored, to
// one Deliver call (one connection): the grouping key is the settings
// themselves, read from each item's own file, so that a batch never mixes
// items that were to be delivered differently. A layer above that wants
// its items batched encodes equal settings equally (submit.Account's JSON
// is canonical).
type Data struct {
	// Settings is a JSON object, returned as written by Item.Data.
	Settings json.RawMessage
}

// EnqueueData stores a message: the envelope, the settings to deliver it
// with (d, which the outbox does not interpret), and the content read from
// r until EOF (streamed, never held in memory). When EnqueueData returns
// an ID, the item is on disk (file and directory fsynced); when it returns
// an error, no item is visible. ctx cancels a slow read of r between
// chunks. Content larger than the queue's MaxMessageSize is refused (an
// *Error wrapping ErrTooLarge) as soon as the limit is passed: r is not
// read further and the partial file is removed.
func (q *Queue) EnqueueData(ctx context.Context, env Envelope, d Data, r io.Reader) (string, error) {
	if !json.Valid(d.Settings) || len(d.Settings) == 0 || d.Settings[0] != '{' {
		return "", &Error{Op: "enqueue", Msg: "the item's settings are not a JSON object",
			Fix: "encode the settings as a JSON object"}
	}
	return q.enqueue(ctx, env, d.Settings, r)
}

func (q *Queue) enqueue(ctx context.Context, env Envelope, settings json.RawMessage, r io.Reader) (string, error) {
	if len(env.To) == 0 {
		return "", &Error{Op: "enqueue", Msg: "no recipients", Fix: "give at least one recipient"}
	}
	now := q.now()
	id := newID(time.Now()) // real time: IDs sort in creation order whatever the clock
	h := header{ID: id, Created: now.UTC(), Envelope: env, Settings: settings}
	hj, err := json.Marshal(&h)
	if err != nil {
		return "", &Error{Op: "enqueue", Msg: "cannot encode the envelope", Err: err}
	}
	fail := func(msg string, err error) (string, error) {
		return "", &Error{Op: "enqueue", Msg: msg, Err: err,
			Fix: "check free space and permissions of the spool directory " + q.dir}
	}
	tmp := q.sub("tmp", id+msgSuffix)
	// The temporary file is locked while it is written, so that a cleanup
	// by a runner never removes a file that is still being written.
	lf, err := openLocked(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if err != nil || lf == nil {
		return fail("cannot create a spool file", err)
	}
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
		lf.unlock()
	}()
	f := lf.f
	buf := make([]byte, 0, len(magic)+len(hj)+1)
	buf = append(append(append(buf, magic...), hj...), '\n')
	if _, err := f.Write(buf); err != nil {
		return fail("cannot write the spool file", err)
	}
	sum := sha256.New()
	bp := q.getBuf()
	max := q.maxMessageSize()
	src := r
	if max >= 0 {
		src = io.LimitReader(r, max+1) // one byte more tells "too large"
	}
	n, err := copyContent(ctx, io.MultiWriter(f, sum), src, *bp)
	q.bufs.Put(bp)
	if err == nil && max >= 0 && n > max {
		return "", &Error{Op: "enqueue", Msg: fmt.Sprintf("the message is larger than %d bytes, the outbox's limit; nothing was queued", max),
			Err: ErrTooLarge, Fix: "send a smaller message (share large files by link), or raise the outbox's message size limit"}
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", &Error{Op: "enqueue", Msg: "cancelled while reading the message", Err: ctx.Err()}
		}
		return fail("cannot store the message", err)
	}
	if _, err := f.Write(trailer(n, sum.Sum(nil))); err != nil {
		return fail("cannot write the spool file", err)
	}
	q.hook("synced-before")
	if err := f.Sync(); err != nil {
		return fail("cannot flush the spool file to disk", err)
	}
	q.hook("synced")
	dst := q.sub("msg", id+msgSuffix)
	if err := os.Rename(tmp, dst); err != nil {
		return fail("cannot move the message into the queue", err)
	}
	done = true
	q.hook("renamed")
	if err := syncDir(filepath.Dir(dst)); err != nil {
		// The item is visible and complete; only its durability across a
		// power loss is in doubt. Report it: the caller must not assume the
		// message is safe.
		return id, &Error{Op: "enqueue", ID: id, Msg: "cannot flush the spool directory", Err: err}
	}
	return id, nil
}

// copyContent copies r to w in 64 KiB chunks, checking ctx between them.
func copyContent(ctx context.Context, w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func (q *Queue) getBuf() *[]byte {
	if bp, ok := q.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 64<<10)
	return &b
}

// hook lets tests stop an enqueue or a run at a given stage (crash
// tests); it does nothing unless a test set limits.hook.
func (q *Queue) hook(stage string) {
	if q.lim.hook != nil {
		q.lim.hook(stage)
	}
}
