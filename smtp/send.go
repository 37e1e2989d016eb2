package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/downgrade"
)

// Envelope is the SMTP envelope of one message (RFC 5321 section 2.3.1).
type Envelope struct {
	// From is the reverse-path; "" sends the null sender "<>".
	From string
	// To are the forward-paths; at least one.
	To []string
	// Size is the message size in bytes, declared with SIZE (RFC 1870)
	// when the server offers it; zero or negative when unknown.
	Size int64
	// UTF8 requests SMTPUTF8 (RFC 6531): needed when an envelope address
	// holds non-ASCII characters. A server without SMTPUTF8 cannot take
	// such a message: Send refuses it before MAIL FROM.
	UTF8 bool
	// HeaderUTF8 says the message header holds raw UTF-8 (RFC 6532) while
	// the envelope addresses are ASCII. A server that offers SMTPUTF8 gets
	// the message as it is, with the SMTPUTF8 parameter; to one that does
	// not, Send writes the header block downgraded to 7-bit (RFC 6857
	// section 3: RFC 2047 encoded-words, RFC 2231 parameters; see
	// internal/downgrade), reading at most 2 MiB of header before MAIL
	// FROM, and streams the body unchanged.
	HeaderUTF8 bool
	// EightBit declares BODY=8BITMIME (RFC 6152) for 8-bit content.
	EightBit bool
	// DSN asks for delivery status notifications (RFC 3461). When it asks
	// for any and the server does not offer DSN, Send sends nothing and
	// returns an *Error of KindUnavailable.
	DSN DSN
}

// Result is the outcome of Send.
type Result struct {
	// Accepted are the recipients the server took.
	Accepted []string `json:"accepted"`
	// Rejected are the recipients it refused, with its reply.
	Rejected []RecipientError `json:"rejected"`
	// Response is the reply to the end of DATA; servers name their queue
	// id in it.
	Response *Reply `json:"response,omitempty"`
	// Bytes is the size of the data sent after dot-stuffing.
	Bytes int64 `json:"bytes"`
	// QuitErr is set by SendAndQuit when the message was accepted but
	// QUIT then failed (the delivery stands; the session is closed anyway).
	QuitErr error `json:"-"`
}

// Send runs one mail transaction: MAIL FROM, RCPT TO for each recipient,
// DATA, then streams msg (an RFC 5322 message with CRLF line endings;
// bare LF is converted) with dot-stuffing. With PIPELINING (RFC 2920) the
// envelope commands go in one flight.
//
// Some recipients may be refused while others are accepted: the message is
// then sent to the accepted ones and the others are listed in
// Result.Rejected, with a nil error. When every recipient is refused,
// or MAIL or DATA is, Send returns an *Error of KindRejected (or
// KindAuth for 530 "authentication required").
//
// The Result and the error go together as follows:
//
//   - err nil: the server took the message (RFC 5321 section 4.1.1.4) for
//     every address in Accepted; Rejected lists the refused ones with the
//     server's reply; Response is the 250 reply to the end of the data
//     (its text usually names the queue id); Bytes is what was sent.
//   - err not nil and Result nil: nothing reached the server (the
//     envelope failed its checks, an *Error of KindUsage, or the Client
//     was already closed).
//   - err not nil and Result not nil: the message was not delivered,
//     except in the one uncertain case below. Accepted and Rejected hold
//     the replies to the RCPT commands that were read before the failure
//     (an address in Accepted then only means its RCPT TO got 250);
//     Bytes counts the data written; Response is set only when the reply
//     to the end of the data was read, and err (Op "end of data") is then
//     that refusal. err is an *Error whose Op names the failed step: a 421
//     reply at any step (RFC 5321 section 3.8) is KindUnavailable and
//     closes the Client; a refused MAIL, DATA or end of data is
//     KindRejected, with the Reply.
//   - The uncertain case: err has Op "end of data" and Response is nil
//     (the connection broke or timed out after the end of the data was
//     sent and before the reply came). The server may have taken the
//     message; sending it again may deliver it twice (RFC 5321 section
//     6.1 accepts that risk over losing mail).
//
// Send may be called again on the same Client for the next message. A
// transaction that ended with the reply to the end of the data needs no
// reset (RFC 5321 section 4.1.1.4); after one that stopped earlier (MAIL,
// every RCPT or DATA refused, or the session otherwise left mid-way), Send
// first resets the session with RSET (section 4.1.1.5), which with
// PIPELINING goes in the same flight as MAIL, RCPT and DATA (RFC 2920
// section 3.1 allows RSET anywhere in a group), so a reused connection
// costs no extra round trip. Callers need not call Reset between messages.
func (c *Client) Send(ctx context.Context, env Envelope, msg io.Reader) (*Result, error) {
	return c.send1(ctx, env, msg, false)
}

// SendAndQuit is Send followed by QUIT, for a session that sends one
// message. When the server offers PIPELINING, QUIT goes in the same flight
// as the end of the message data (RFC 2920 section 3.1: QUIT may end a
// group), so the session ends without a round trip of its own. The
// connection is closed on return, whatever happened. A failed QUIT after
// an accepted message does not make the send fail: it is reported in
// Result.QuitErr.
func (c *Client) SendAndQuit(ctx context.Context, env Envelope, msg io.Reader) (*Result, error) {
	defer c.Close()
	res, err := c.send1(ctx, env, msg, true)
	if c.conn != nil {
		// QUIT was not pipelined (no PIPELINING, or the transaction
		// failed before the data): say goodbye on its own.
		qerr := c.Quit(ctx)
		if err == nil && res != nil {
			res.QuitErr = qerr
		}
	}
	return res, err
}

func (c *Client) send1(ctx context.Context, env Envelope, msg io.Reader, quit bool) (*Result, error) {
	if c.conn == nil {
		return nil, errClosed("MAIL FROM")
	}
	mail, msg, err := c.checkEnvelope(env, msg)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	pipelining, _ := c.Extension("PIPELINING")
	if pipelining {
		err = c.envelopePipelined(ctx, mail, env, res)
	} else {
		if c.inTx {
			if err := c.Reset(ctx); err != nil {
				return res, err
			}
		}
		c.inTx = true
		err = c.envelopeSequential(ctx, mail, env, res)
	}
	if err != nil {
		return res, err
	}
	return res, c.data(ctx, msg, res, quit && pipelining)
}

// checkEnvelope checks env and returns its MAIL command and the content
// to send: msg, or msg with its header downgraded (see
// Envelope.HeaderUTF8). Nothing has been sent when it fails.
func (c *Client) checkEnvelope(env Envelope, msg io.Reader) (string, io.Reader, error) {
	if err := env.Check(); err != nil {
		return "", nil, err
	}
	if ok, _ := c.Extension("SMTPUTF8"); env.HeaderUTF8 && !env.UTF8 && !ok {
		dg, st, err := downgrade.Reader(msg, maxDowngradeHeader)
		if err != nil {
			fix := "check the message source; nothing was sent"
			var de *downgrade.Error
			if errors.As(err, &de) {
				fix = "write the header in ASCII (RFC 2047 encoded-words), or use a server that supports SMTPUTF8"
			}
			return "", nil, &Error{Kind: KindUsage, Op: "MAIL FROM", Err: err, Fix: fix}
		}
		c.log.Event("the server does not offer SMTPUTF8: the header's UTF-8 text goes as RFC 2047 encoded-words (RFC 6857 section 3); the body is unchanged")
		if len(st.BrokenDKIM) > 0 {
			// Noted, not refused: a verifier treats the message as
			// unsigned (RFC 6376 section 6.1), and the server could
			// not take the signed form at all.
			c.log.Event("warning: the message's DKIM signature covers the rewritten field(s) %s and will no longer verify (sign after submission, or use a server that offers SMTPUTF8)",
				strings.Join(st.BrokenDKIM, ", "))
		}
		msg = dg
		if env.Size > 0 {
			env.Size += st.Grew // SIZE declares what is sent (RFC 1870 section 6)
		}
	}
	mail, err := c.mailCommand(env)
	if err != nil {
		return "", nil, err
	}
	return mail, msg, nil
}

// maxDowngradeHeader bounds the header block read to downgrade it: twice
// the 1 MiB of input header that message preparation takes, whose lines
// may each gain a CR when they are written with CRLF (a 3-byte "X:" LF
// line becomes 4 bytes, a 2-byte continuation line 3), so that no header
// it accepted fails here.
const maxDowngradeHeader = 2 << 20

func (c *Client) mailCommand(env Envelope) (string, error) {
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + wirePath(env.From) + ">")
	if ok, _ := c.Extension("SIZE"); ok && env.Size > 0 {
		if limit := c.sizeLimit(); limit > 0 && env.Size > limit {
			return "", &Error{Kind: KindRejected, Op: "MAIL FROM",
				Err: fmt.Errorf("the message is %d bytes and the server accepts at most %d", env.Size, limit),
				Fix: "send a smaller message (attachments grow by a third in base64), or share large files by link"}
		}
		b.WriteString(" SIZE=" + strconv.FormatInt(env.Size, 10))
	}
	if env.EightBit {
		if ok, _ := c.Extension("8BITMIME"); ok {
			b.WriteString(" BODY=8BITMIME")
		} else {
			c.log.Event("the message has 8-bit content but the server does not offer 8BITMIME; sending it as is")
		}
	}
	utf8, _ := c.Extension("SMTPUTF8")
	if env.UTF8 && !utf8 {
		return "", &Error{Kind: KindRejected, Op: "MAIL FROM",
			Err: fmt.Errorf("the envelope address %q is not ASCII, which needs SMTPUTF8 (RFC 6531), and the server does not offer it", firstNonASCII(env)),
			Fix: "use an ASCII address (for a domain, its punycode xn-- form), or a server that supports SMTPUTF8"}
	}
	if utf8 && (env.UTF8 || env.HeaderUTF8) {
		b.WriteString(" SMTPUTF8")
	}
	if !env.DSN.IsZero() {
		if ok, _ := c.Extension("DSN"); !ok {
			return "", errNoDSNError("MAIL FROM")
		}
		b.WriteString(env.DSN.mailParam())
	}
	return b.String(), nil
}

// firstNonASCII is the first envelope address with a byte above 127.
func firstNonASCII(env Envelope) string {
	for _, a := range append([]string{env.From}, env.To...) {
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 {
				return a
			}
		}
	}
	return ""
}

func (c *Client) envelopeSequential(ctx context.Context, mail string, env Envelope, res *Result) error {
	r, err := c.cmd(ctx, "MAIL FROM", mail)
	if err != nil {
		return err
	}
	if r.Code == 421 {
		return c.closing("MAIL FROM", r)
	}
	if r.Code != 250 {
		return c.reject("MAIL FROM", r, KindRejected)
	}
	for _, to := range env.To {
		r, err := c.cmd(ctx, "RCPT TO", env.DSN.rcptCommand(to))
		if err != nil {
			return err
		}
		if r.Code == 421 {
			return c.closing("RCPT TO", r)
		}
		c.recordRcpt(to, r, res)
	}
	if len(res.Accepted) == 0 {
		c.Reset(ctx)
		return c.noRecipients(res)
	}
	r, err = c.cmd(ctx, "DATA", "DATA")
	if err != nil {
		return err
	}
	if r.Code != 354 {
		return c.reject("DATA", r, KindRejected)
	}
	return nil
}

// envelopePipelined sends MAIL, every RCPT and DATA in one flight and then
// reads the replies in order (RFC 2920 section 3.1). After an earlier
// transaction on this session, RSET leads the flight.
func (c *Client) envelopePipelined(ctx context.Context, mail string, env Envelope, res *Result) error {
	rset, err := c.queueEnvelope(mail, env)
	if err != nil {
		return err
	}
	if err := c.flush(ctx, "MAIL FROM"); err != nil {
		return err
	}
	return c.readEnvelope(ctx, rset, env.To, res)
}

// queueEnvelope buffers [RSET,] MAIL, RCPT... and DATA without sending
// them, and reports whether RSET leads.
func (c *Client) queueEnvelope(mail string, env Envelope) (rset bool, err error) {
	rset = c.inTx
	if rset {
		if err := c.queue("RSET", "RSET", ""); err != nil {
			return rset, err
		}
	}
	if err := c.queue("MAIL FROM", mail, ""); err != nil {
		return rset, err
	}
	c.inTx = true
	for _, to := range env.To {
		if err := c.queue("RCPT TO", env.DSN.rcptCommand(to), ""); err != nil {
			return rset, err
		}
	}
	return rset, c.queue("DATA", "DATA", "")
}

// readEnvelope reads the replies to a flight queued by queueEnvelope.
func (c *Client) readEnvelope(ctx context.Context, rset bool, rcpts []string, res *Result) error {
	var rr *Reply
	if rset {
		var err error
		if rr, err = c.readOpen(ctx, "RSET"); err != nil {
			return err
		}
	}
	mr, err := c.readOpen(ctx, "MAIL FROM")
	if err != nil {
		return err
	}
	for _, to := range rcpts {
		r, err := c.readOpen(ctx, "RCPT TO")
		if err != nil {
			return err
		}
		c.recordRcpt(to, r, res)
	}
	dr, err := c.readOpen(ctx, "DATA")
	if err != nil {
		return err
	}
	switch {
	case rr != nil && rr.Code != 250:
		if dr.Code == 354 {
			c.abortData(ctx)
		}
		return replyError("RSET", rr, KindProtocol)
	case mr.Code != 250:
		if dr.Code == 354 {
			c.abortData(ctx)
		}
		return c.reject("MAIL FROM", mr, KindRejected)
	case len(res.Accepted) == 0:
		if dr.Code == 354 {
			// The server should have refused DATA; end an empty message
			// so that the session stays in step.
			c.abortData(ctx)
		}
		return c.noRecipients(res)
	case dr.Code != 354:
		return c.reject("DATA", dr, KindRejected)
	}
	return nil
}

// readOpen reads the reply to one command of a pipelined flight. A 421
// reply means the server is closing the connection (RFC 5321 section 3.8)
// and the replies to the rest of the flight will never come: the 421, with
// its text, is the error, instead of the end of file that reading on would
// meet.
func (c *Client) readOpen(ctx context.Context, op string) (*Reply, error) {
	r, err := c.read(ctx, op)
	if err == nil && r.Code == 421 {
		return nil, c.closing(op, r)
	}
	return r, err
}

// closing reports a 421 reply to op and closes the connection, which the
// server is closing too: no QUIT follows.
func (c *Client) closing(op string, r *Reply) *Error {
	c.Close()
	return replyError(op, r, KindUnavailable)
}

// abortData ends a DATA phase that should not have started, sending no
// content, and resets the transaction.
func (c *Client) abortData(ctx context.Context) {
	if r, err := c.cmd(ctx, "DATA", "."); err == nil && r.Code == 250 {
		c.log.Event("the server accepted an empty message for no recipients")
	}
	c.Reset(ctx)
}

func (c *Client) recordRcpt(to string, r *Reply, res *Result) {
	if r.Code == 250 || r.Code == 251 {
		res.Accepted = append(res.Accepted, to)
		return
	}
	res.Rejected = append(res.Rejected, RecipientError{Addr: to, Reply: *r})
}

func (c *Client) noRecipients(res *Result) error {
	first := res.Rejected[0].Reply
	e := c.reject("RCPT TO", &first, KindRejected)
	if e.Kind == KindRejected {
		e.Err = fmt.Errorf("every recipient was refused (%d)", len(res.Rejected))
	}
	return e
}

// data streams the message and reads the final reply. With quit, QUIT
// follows the end marker in the same flush, and its reply is read after
// the final one; the connection is then closed.
func (c *Client) data(ctx context.Context, msg io.Reader, res *Result, quit bool) error {
	if quit {
		defer c.Close() // QUIT is sent with the data: the session ends here
	}
	err := c.writeData(ctx, msg, res)
	if err == nil && quit {
		err = c.queue("QUIT", "QUIT", "")
	}
	if err == nil {
		err = c.flush(ctx, "DATA")
	}
	if err != nil {
		return c.dataError(ctx, err)
	}
	if err := c.readFinal(ctx, res); err != nil {
		return err
	}
	// The reply to the end of data, whatever it says, ends the
	// transaction and clears the server's buffers (RFC 5321 section
	// 4.1.1.4): the next one needs no RSET.
	c.inTx = false
	if quit {
		qr, qerr := c.read(ctx, "QUIT")
		if qerr == nil && qr.Code != 221 {
			qerr = replyError("QUIT", qr, KindProtocol)
		}
		if res.Response.Code == 250 {
			res.QuitErr = qerr
		}
		c.Close()
	}
	return c.finalError(res)
}

// writeData streams msg with dot-stuffing and the end marker into the
// connection's buffer; what is still buffered is sent by the next flush.
func (c *Client) writeData(ctx context.Context, msg io.Reader, res *Result) error {
	w := &deadlineWriter{c: c, ctx: ctx}
	defer w.stop()
	dw := newDotWriter(w)
	var dst io.Writer = dw
	limit := c.sizeLimit()
	if limit > 0 {
		dst = &sizeCapWriter{dw: dw, left: limit}
	}
	_, err := io.Copy(dst, msg)
	if err == nil {
		err = dw.Close()
	}
	res.Bytes = dw.n
	c.log.ClientData(dw.n, "[message data, end marker included]")
	if errors.Is(err, errOverSize) {
		// The server has a partial message: closing without the end
		// marker makes it drop the transaction (RFC 5321 section
		// 4.1.1.4), and a message that does not end (a stream on
		// standard input) costs no more than the server's limit.
		c.Close()
		return &Error{Kind: KindRejected, Op: "DATA",
			Err: fmt.Errorf("the message is larger than the %d bytes the server accepts (SIZE); the connection was closed before its end, so nothing was delivered", limit),
			Fix: "send a smaller message (attachments grow by a third in base64), or share large files by link"}
	}
	return err
}

// sizeLimit is the message size limit the server announced with SIZE (RFC
// 1870 section 4), or 0 when it announced none.
func (c *Client) sizeLimit() int64 {
	ok, max := c.Extension("SIZE")
	if !ok {
		return 0
	}
	limit, err := strconv.ParseInt(max, 10, 64)
	if err != nil || limit < 0 {
		return 0
	}
	return limit
}

// errOverSize stops the data of a message that has grown past the
// server's SIZE limit.
var errOverSize = errors.New("message larger than the server's SIZE limit")

// sizeCapWriter passes message bytes on to the data writer until more than
// the server's SIZE limit have come, and then fails. The bytes counted are
// the message's own, before dot-stuffing and line-end repair, so they
// never exceed the size RFC 1870 section 6 defines: a message it stops is
// too large for the server whatever its declared SIZE (or none, for a
// stream of unknown length). It keeps the data writer's WriteCRLF.
type sizeCapWriter struct {
	dw   *dotWriter
	left int64
}

func (s *sizeCapWriter) take(p []byte) error {
	if int64(len(p)) > s.left {
		return errOverSize
	}
	s.left -= int64(len(p))
	return nil
}

func (s *sizeCapWriter) Write(p []byte) (int, error) {
	if err := s.take(p); err != nil {
		return 0, err
	}
	return s.dw.Write(p)
}

func (s *sizeCapWriter) WriteCRLF(p []byte) (int, error) {
	if err := s.take(p); err != nil {
		return 0, err
	}
	return s.dw.WriteCRLF(p)
}

// dataError classifies a failure while sending the data.
func (c *Client) dataError(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if werr := (*writeError)(nil); errors.As(err, &werr) {
		return ioError(ctx, "DATA", werr.err)
	}
	// The message source failed: the server has a partial message and
	// must not take it. Closing without the end marker makes it drop
	// the transaction.
	c.Close()
	return &Error{Kind: KindUsage, Op: "DATA", Err: fmt.Errorf("reading the message: %w", err),
		Fix: "check the message file; nothing was delivered"}
}

// readFinal reads the reply to the end of data into res.Response.
func (c *Client) readFinal(ctx context.Context, res *Result) error {
	r, err := c.read(ctx, "end of data")
	if err != nil {
		return err
	}
	res.Response = r
	return nil
}

// finalError is the error for a reply to the end of data other than 250.
func (c *Client) finalError(res *Result) error {
	if res.Response.Code != 250 {
		return c.reject("end of data", res.Response, KindRejected)
	}
	return nil
}

// deadlineWriter writes to the buffered connection, renewing the step
// deadline for each chunk, so a long message is bounded per step rather
// than as a whole. Cancelling ctx interrupts a blocked write at once (one
// context.AfterFunc for the whole message, not one per chunk; stop
// releases it).
//
// A large write (a block of a base64 attachment, a big read of a prepared
// message) is cut on multiples of the buffer's size, 16 KiB, which is
// TLS's largest record (RFC 8446 section 5.1): the buffered bytes are
// topped up to a full buffer and flushed, the whole multiples go to the
// connection in one write, and only the rest is buffered. crypto/tls makes
// a record of at most 16 KiB per write to the socket, so every record is
// full: fewer records, fewer system calls, less work for the server.
type deadlineWriter struct {
	c          *Client
	ctx        context.Context
	cancelStop func() bool // the AfterFunc, set on the first write with I/O
}

// renew sets the deadline for a write that may block: the step timeout
// from now, or the context's deadline when sooner, as Client.arm does.
func (w *deadlineWriter) renew() {
	conn := w.c.conn
	if w.cancelStop == nil {
		w.cancelStop = context.AfterFunc(w.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	}
	d := time.Now().Add(w.c.timeout())
	if cd, ok := w.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	conn.SetDeadline(d)
	// Cancelled meanwhile: the AfterFunc may have run before the line
	// above undid it.
	if w.ctx.Err() != nil {
		conn.SetDeadline(time.Unix(1, 0))
	}
}

func (w *deadlineWriter) stop() {
	if w.cancelStop != nil {
		w.cancelStop()
	}
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (w *deadlineWriter) Write(p []byte) (int, error) {
	bw := w.c.bw
	if bw.Available() >= len(p) {
		n, err := bw.Write(p) // fits: no I/O (an error is an earlier one)
		if err != nil {
			return n, &writeError{err}
		}
		return n, nil
	}
	w.renew()
	written := 0
	if bw.Buffered() > 0 {
		k, err := bw.Write(p[:bw.Available()]) // fills the buffer: no I/O yet
		written += k
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return written, &writeError{err}
		}
		p = p[k:]
	}
	// The buffer is empty: bufio writes a chunk at least its size
	// straight to the connection.
	if whole := len(p) - len(p)%bw.Size(); whole > 0 {
		k, err := bw.Write(p[:whole])
		written += k
		if err != nil {
			return written, &writeError{err}
		}
		p = p[whole:]
	}
	k, err := bw.Write(p) // less than the buffer's size: buffered
	if err != nil {
		return written + k, &writeError{err}
	}
	return written + k, nil
}

// reject classifies a refusal during the mail transaction. A 530 that
// names STARTTLS means "TLS first" only while the session is in the clear;
// on a TLS session it can only be asking for authentication.
func (c *Client) reject(op string, r *Reply, kind Kind) *Error {
	e := replyError(op, r, kind)
	if e.Kind == KindStartTLSUnavailable && c.tls != nil {
		e.Kind = KindAuth
		e.Fix = "the server requires authentication: give a user name and a password (or token)"
	}
	return e
}
