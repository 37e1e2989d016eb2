package submit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
)

// ShowOptions configure WriteItem.
type ShowOptions struct {
	// Envelope writes the item's envelope and state before the message,
	// in sections as Postfix's postcat shows a queue file: "*** ENVELOPE
	// ID ***" with one "name: value" line each (state, created, size,
	// sender, recipient per address (or "envelope: unreadable: why" for
	// an item whose envelope could not be read, Item.EnvelopeError),
	// attempts, last attempt and error, next attempt, or when and why it
	// failed), then "*** MESSAGE CONTENTS ID ***", the message, and "***
	// MESSAGE FILE END ID ***". Without it only the message is written,
	// byte for byte as stored.
	Envelope bool
}

// WriteItem writes the message of the queued or failed item id of q to w
// exactly as it was stored (the bytes the server gets, before the
// deliverer's dot-stuffing), streamed: the spool directory's file is read
// a block at a time, the PostgreSQL queue's message a slice of 1 MiB at
// a time (Store.Get's Item.Open), so that a message of any size is
// written in bounded memory. An unknown id is an error for which
// errors.Is(err, outbox.ErrNotFound) is true. It returns how many bytes of
// the message it wrote; an error after the first byte (the item removed
// meanwhile, or a spool file damaged on disk: *outbox.CorruptError at the
// end) means what was written is not the whole message; a failure of w
// is an *OutputError (the item is unchanged).
//
// With o.Envelope the envelope's text (addresses, the last error, which
// came from a sender's input or a server's reply) is quoted as the queue
// listing quotes it (safetext.OneLine); the message is written as it is
// in either case, as cat(1) would, so a terminal shows what its bytes say.
func WriteItem(w io.Writer, q outbox.Store, id string, o ShowOptions) (int64, error) {
	it, r, err := openItem(q, id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	out := &outputWriter{w: w}
	n, err := writeItem(out, it, r, o)
	if out.err != nil {
		return n, &OutputError{ID: id, Written: n, Err: out.err}
	}
	return n, err
}

// OutputError is WriteItem's error when its writer failed (a full disk, a
// closed pipe): the item was read and is as it was; the output is not the
// whole message.
type OutputError struct {
	ID string
	// Written is how many bytes of the message were given to the writer.
	Written int64
	Err     error
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("the message of %s could not be written (%d bytes written): %v", e.ID, e.Written, e.Err)
}

func (e *OutputError) Unwrap() error { return e.Err }

// outputWriter remembers its writer's first error, so that WriteItem can
// tell a failed write from a failed read.
type outputWriter struct {
	w   io.Writer
	err error
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	o.err = err
	return n, err
}

// writeItem is WriteItem's writing of the open item it, read from r.
func writeItem(w io.Writer, it *outbox.Item, r io.Reader, o ShowOptions) (int64, error) {
	if !o.Envelope {
		return io.Copy(w, r)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	writeEnvelope(bw, it)
	fmt.Fprintf(bw, "*** MESSAGE CONTENTS %s ***\n", it.ID)
	t := &tail{w: bw}
	n, err := io.Copy(t, r)
	if err == nil {
		if t.last != '\n' && n > 0 {
			bw.WriteByte('\n')
		}
		fmt.Fprintf(bw, "*** MESSAGE FILE END %s ***\n", it.ID)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// openItem looks item id up in q and opens its message. A runner may
// finish the item between the two (the spool directory's Open then says
// outbox.ErrNotFound: delivered, or moved to failed/ as a new file): it is
// looked up once more, so that an item moved to failed/ is shown as it is
// there, and one that left the outbox is outbox.ErrNotFound.
func openItem(q outbox.Store, id string) (*outbox.Item, io.ReadCloser, error) {
	for try := 0; ; try++ {
		it, err := q.Get(id)
		if err != nil {
			return nil, nil, err
		}
		r, err := it.Open()
		if err == nil {
			return it, r, nil
		}
		if try > 0 || !errors.Is(err, outbox.ErrNotFound) {
			return nil, nil, err
		}
	}
}

// writeEnvelope writes the envelope section of WriteItem.
func writeEnvelope(w io.Writer, it *outbox.Item) {
	state := "queued"
	if !it.FailedAt.IsZero() {
		state = "failed"
	}
	at := func(t time.Time) string { return t.Local().Format(time.DateTime) }
	fmt.Fprintf(w, "*** ENVELOPE %s ***\n", it.ID)
	fmt.Fprintf(w, "state: %s\n", state)
	if !it.Created.IsZero() {
		fmt.Fprintf(w, "created: %s\n", at(it.Created))
	}
	fmt.Fprintf(w, "size: %d\n", it.Size)
	if it.EnvelopeError != "" {
		// Not "sender: <>" and no recipient, which reads as a null
		// sender: the item's envelope is unknown.
		fmt.Fprintf(w, "envelope: unreadable: %s\n", safetext.OneLine(it.EnvelopeError))
	} else {
		writeAddresses(w, it.Envelope)
	}
	fmt.Fprintf(w, "attempts: %d\n", it.Attempts)
	if !it.LastAttempt.IsZero() {
		fmt.Fprintf(w, "last_attempt: %s\n", at(it.LastAttempt))
	}
	if it.LastError != "" {
		fmt.Fprintf(w, "last_error: %s\n", safetext.OneLine(it.LastError))
	}
	if state == "failed" {
		fmt.Fprintf(w, "failed_at: %s\n", at(it.FailedAt))
		fmt.Fprintf(w, "reason: %s\n", safetext.OneLine(it.Reason))
		return
	}
	next := "now"
	if it.NextAttempt.After(time.Now()) {
		next = at(it.NextAttempt)
	}
	fmt.Fprintf(w, "next_attempt: %s\n", next)
}

// writeAddresses writes the envelope section's sender, recipients and
// MAIL and RCPT parameters.
func writeAddresses(w io.Writer, env outbox.Envelope) {
	from := env.From
	if from == "" {
		from = "<>"
	}
	fmt.Fprintf(w, "sender: %s\n", safetext.OneLine(from))
	for _, to := range env.To {
		fmt.Fprintf(w, "recipient: %s\n", safetext.OneLine(to))
	}
	var needs []string
	if b := env.Body; b != "" {
		needs = append(needs, "BODY="+b)
	}
	if env.SMTPUTF8 {
		needs = append(needs, "SMTPUTF8")
	}
	if env.DSNReturn != "" {
		needs = append(needs, "RET="+env.DSNReturn)
	}
	if env.DSNNotify != "" {
		needs = append(needs, "NOTIFY="+env.DSNNotify)
	}
	if len(needs) > 0 {
		fmt.Fprintf(w, "parameters: %s\n", safetext.OneLine(strings.Join(needs, " ")))
	}
}

// tail is a writer that remembers the last byte written through it.
type tail struct {
	w    io.Writer
	last byte
}

func (t *tail) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 {
		t.last = p[n-1]
	}
	return n, err
}
