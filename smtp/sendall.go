package smtp

import (
	"context"
	"errors"
	"io"
)

// SendAll sends a sequence of messages over the session, one mail
// transaction each, and overlaps them: with PIPELINING (RFC 2920 section
// 3.1) the end of one message's data and the next message's envelope
// (MAIL FROM, RCPT TO..., DATA) go in one flight, and the reply to the end
// of the data is read just before the replies to that envelope. A
// sequence of n messages thus costs about n round trips instead of 2n.
// Without PIPELINING it sends each message as Send does.
//
// next returns the next message, or io.EOF when there is none; it is
// called again only after the previous message's data has been written,
// so it may open files lazily. Any other error from next (a queue that
// cannot be read, a message that cannot be opened) stops the batch: the
// message before it gets its final reply and its done call as usual, and
// SendAll returns an *Error of KindUsage and Op "next message" that wraps
// next's error (errors.Is finds it). Nothing of the failed message was
// sent, so the session stays open: send QUIT, or SendAll again. done is called once for each message next
// returned, in order (i counts from 0), with the outcome Send would have
// returned for it: a refused MAIL or RCPT, a refused DATA or a refusal at
// the end of the data concern that message alone, and the session goes on
// (with RSET leading the next flight when the transaction ended early,
// RFC 5321 section 4.1.1.5).
//
// SendAll returns nil when next ran out, the error next returned, or the
// error that ended the
// session (a network failure, a timeout, 421, ctx ending, or a message
// source that failed mid-data, which closes the connection so that the
// partial message is dropped). In that case every message next returned
// whose data was sent has had its done call (it may or may not have been
// delivered; the error says so), and at most one more message, the last
// one next returned, has had none: its envelope was sent but no data,
// so it was not delivered and may be sent again on a new session.
// The session is left open on success; the caller sends QUIT.
func (c *Client) SendAll(ctx context.Context, next func() (env Envelope, msg io.Reader, err error), done func(i int, res *Result, err error)) error {
	if ok, _ := c.Extension("PIPELINING"); !ok {
		for i := 0; ; i++ {
			if err := ctx.Err(); err != nil {
				return ioError(ctx, "MAIL FROM", err)
			}
			env, msg, err := next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return nextError(err)
			}
			res, err := c.Send(ctx, env, msg)
			done(i, res, err)
			if err != nil && c.sessionLost(err) {
				return err
			}
		}
	}
	p := pipeline{c: c, done: done, pending: -1}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			if perr := p.finish(ctx); perr != nil {
				return perr
			}
			return ioError(ctx, "MAIL FROM", err)
		}
		env, msg, err := next()
		if err == io.EOF {
			return p.finish(ctx)
		}
		if err != nil {
			if perr := p.finish(ctx); perr != nil {
				return perr
			}
			return nextError(err)
		}
		if err := p.send(ctx, i, env, msg); err != nil {
			return err
		}
	}
}

// nextError is SendAll's error for a failure of its next function.
func nextError(err error) error {
	return &Error{Kind: KindUsage, Op: "next message", Err: err,
		Fix: "the messages before it were sent and reported; fix what the message source reported, then send the rest"}
}

// pipeline is the state of SendAll under PIPELINING: the message whose
// end of data is written (perhaps still buffered) and not yet answered.
type pipeline struct {
	c       *Client
	done    func(int, *Result, error)
	pending int // index of that message, or -1
	res     *Result
}

// finish flushes and reads the pending message's final reply, if any.
func (p *pipeline) finish(ctx context.Context) error {
	if p.pending < 0 {
		return nil
	}
	if err := p.c.flush(ctx, "DATA"); err != nil {
		return p.endPending(ctx, err)
	}
	return p.endPending(ctx, nil)
}

// send runs message i: its envelope goes out with the pending end of data.
func (p *pipeline) send(ctx context.Context, i int, env Envelope, msg io.Reader) error {
	c := p.c
	if c.conn == nil {
		err := errClosed("MAIL FROM")
		if perr := p.finish(ctx); perr != nil {
			return perr
		}
		p.done(i, nil, err)
		return err
	}
	mail, msg, err := c.checkEnvelope(env, msg)
	if err != nil {
		// A message the server never sees: the session is unaffected.
		if perr := p.finish(ctx); perr != nil {
			return perr
		}
		p.done(i, nil, err)
		return nil
	}
	res := &Result{}
	rset, err := c.queueEnvelope(mail, env)
	if err == nil {
		err = c.flush(ctx, "MAIL FROM")
	}
	if p.pending >= 0 {
		// The reply to the previous end of data comes first.
		if perr := p.endPending(ctx, err); perr != nil {
			return perr // message i was not delivered: no done call
		}
	}
	if err != nil {
		p.done(i, res, err)
		return err
	}
	if err := c.readEnvelope(ctx, rset, env.To, res); err != nil {
		p.done(i, res, err)
		if c.sessionLost(err) {
			return err
		}
		return nil
	}
	if err := c.writeData(ctx, msg, res); err != nil {
		err = c.dataError(ctx, err)
		p.done(i, res, err)
		return err
	}
	// The end marker ends the transaction whatever the reply (RFC 5321
	// section 4.1.1.4): the next envelope needs no RSET.
	c.inTx = false
	p.pending, p.res = i, res
	return nil
}

// endPending reads the pending message's final reply (unless err already
// failed the flight that carried its end) and reports it. It returns an
// error only when the session is lost.
func (p *pipeline) endPending(ctx context.Context, err error) error {
	i, res := p.pending, p.res
	p.pending, p.res = -1, nil
	if err == nil {
		err = p.c.readFinal(ctx, res)
		if err == nil {
			err = p.c.finalError(res)
		}
	}
	p.done(i, res, err)
	if err != nil && p.c.sessionLost(err) {
		return err
	}
	return nil
}

// sessionLost reports whether err ends the session: anything but a reply
// the server gave while keeping it open (421 closes it, RFC 5321 section
// 3.8).
func (c *Client) sessionLost(err error) bool {
	if c.conn == nil {
		return true
	}
	var e *Error
	if !errors.As(err, &e) || e.Reply == nil || e.Reply.Code == 421 {
		return true
	}
	return false
}
