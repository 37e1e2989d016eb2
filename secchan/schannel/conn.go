package schannel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unsafe"

	"github.com/tlsmail/tlsmail/secchan"
)

// Conn is a TLS connection secured by Schannel.
//
// Locks: rmu serialises Read, wmu serialises Write (and what goes on the
// wire: a record is never interleaved with another write). hmu guards the
// SSPI handles and the Schannel context: every SSPI call is made with hmu
// held after checking closed, and hmu is never held across network I/O, so
// that Close can always take it. Read never waits for wmu: a handshake
// message Schannel produces after the handshake (a KeyUpdate answer) is
// queued in pending, under hmu with the call that made it, and sent before
// the next record Write encrypts, or by Read itself when no Write is under
// way.
type Conn struct {
	raw    net.Conn
	cfg    *secchan.Config
	api    secAPI
	target *uint16 // SNI and Schannel's session-cache key; nil for an IP address

	hmu         sync.Mutex
	cred        credHandle
	ctx         secHandle
	established bool
	closed      bool
	pending     [][]byte // post-handshake messages to send before the next record
	fatal       error    // the context cannot be used any more (a refused renegotiation, a failed post-handshake message)

	sizes   streamSizes
	state   secchan.State
	peerDER [][]byte // the server's certificates, unparsed, when crypto/x509 could not parse the leaf

	rmu   sync.Mutex
	in    []byte // received, not yet decrypted (may end in a partial record)
	plain []byte // decrypted, not yet returned to the caller
	rerr  error  // sticky read error (io.EOF after close_notify)

	wmu  sync.Mutex
	wbuf []byte
	werr error // sticky write error: once a write failed the stream may hold half a record
}

// State describes the session.
func (c *Conn) State() secchan.State { return c.state }

// Read returns decrypted application data. Data of one record that does not
// fit p is kept for the next Read; bytes of the next record that arrived
// with this one are kept too (RFC 8446 section 5.1 allows records to
// straddle reads in any way).
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	for len(c.plain) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(c.in) > 0 {
			done, err := c.decrypt()
			if err != nil {
				// Data that came with the error (close_notify, a refused
				// renegotiation) is returned first.
				c.rerr = err
				continue
			}
			if done {
				continue
			}
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.plain)
	c.plain = c.plain[n:]
	return n, nil
}

// fill reads more ciphertext. A timeout is returned as is (the caller may
// retry after moving the deadline); the end of the stream is io.EOF at a
// record boundary (as crypto/tls has it) and io.ErrUnexpectedEOF inside a
// record.
func (c *Conn) fill() error {
	if cap(c.in)-len(c.in) < 4096 {
		n := make([]byte, len(c.in), len(c.in)+int(c.maxRecord()))
		copy(n, c.in)
		c.in = n
	}
	k, err := c.raw.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+k]
	if k > 0 {
		return nil
	}
	if err == nil {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if errors.Is(err, io.EOF) {
		if len(c.in) == 0 {
			c.rerr = io.EOF
		} else {
			c.rerr = fmt.Errorf("schannel: the connection closed inside a TLS record (%d bytes of it received): %w", len(c.in), io.ErrUnexpectedEOF)
		}
		return c.rerr
	}
	c.rerr = err
	return err
}

func (c *Conn) maxRecord() uint32 {
	n := c.sizes.cbHeader + c.sizes.cbMaximumMessage + c.sizes.cbTrailer
	if n < 16<<10 {
		n = 16<<10 + 2048
	}
	return n + 4096
}

// decrypt decrypts the record at the start of c.in, in place, with the four
// buffers DecryptMessage wants. It reports whether it made progress (false:
// the record is incomplete and more must be read). Decrypted data is kept
// whatever the status that came with it: Windows returns application data
// with SEC_I_RENEGOTIATE and SEC_I_CONTEXT_EXPIRED too.
func (c *Conn) decrypt() (bool, error) {
	bufs := []secBuffer{{cbBuffer: uint32(len(c.in)), bufferType: secbufferData, pvBuffer: unsafe.Pointer(&c.in[0])},
		{bufferType: secbufferEmpty}, {bufferType: secbufferEmpty}, {bufferType: secbufferEmpty}}
	c.hmu.Lock()
	if c.closed {
		c.hmu.Unlock()
		return false, net.ErrClosed
	}
	st := c.api.decryptMessage(&c.ctx, newDesc(bufs))
	c.hmu.Unlock()

	switch st {
	case secEIncompleteMessage:
		return false, nil
	case secEOK, secIRenegotiate, secIContextExpired:
	default:
		return false, &StatusError{Op: "DecryptMessage", Code: st}
	}
	var data []byte
	extra := 0
	for i := range bufs {
		switch bufs[i].bufferType {
		case secbufferData:
			data = bufs[i].bytes()
		case secbufferExtra:
			extra = int(bufs[i].cbBuffer)
		}
	}
	// data points into c.in: copy it out before c.in moves.
	c.plain = append(c.plain[:0], data...)
	extra = min(extra, len(c.in))
	c.in = c.in[:copy(c.in, c.in[len(c.in)-extra:])]
	switch st {
	case secIContextExpired:
		return true, io.EOF // close_notify
	case secIRenegotiate:
		return true, c.postHandshake()
	}
	return true, nil
}

// postHandshake handles SEC_I_RENEGOTIATE: a handshake message after the
// handshake. In TLS 1.3 it is a NewSessionTicket or a KeyUpdate (RFC 8446
// section 4.6; Windows 11 returns every ticket this way), and the bytes
// after the record go back through InitializeSecurityContext. In TLS 1.2 it
// is a HelloRequest (RFC 5246 section 7.4.1.1): renegotiating would bring a
// server certificate nobody verifies, so it is refused, for good, as
// crypto/tls refuses it by default.
func (c *Conn) postHandshake() error {
	err := ErrRenegotiation
	if c.state.Version == tls.VersionTLS13 {
		if err = c.handshake(context.Background(), c.in); err == nil {
			return nil
		}
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.closed {
		return net.ErrClosed // Close ended the message: not the server's doing
	}
	if c.fatal == nil {
		c.fatal = err
	}
	return err
}

// Write encrypts p in records of at most the stream's maximum message size
// and sends them. Once a write failed (a timeout included) the stream may
// end in half a record: every later Write returns the same error, as with
// crypto/tls.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.unlockWrite()
	if c.werr != nil {
		return 0, c.werr
	}
	sent := 0
	for len(p) > 0 {
		chunk := min(len(p), int(c.sizes.cbMaximumMessage))
		h, t := int(c.sizes.cbHeader), int(c.sizes.cbTrailer)
		if cap(c.wbuf) < h+chunk+t {
			c.wbuf = make([]byte, h+int(c.sizes.cbMaximumMessage)+t)
		}
		buf := c.wbuf[:h+chunk+t]
		copy(buf[h:], p[:chunk])
		bufs := []secBuffer{
			{cbBuffer: uint32(h), bufferType: secbufferStreamHeader, pvBuffer: unsafe.Pointer(&buf[0])},
			{cbBuffer: uint32(chunk), bufferType: secbufferData, pvBuffer: unsafe.Pointer(&buf[h])},
			{cbBuffer: uint32(t), bufferType: secbufferStreamTrailer, pvBuffer: unsafe.Pointer(&buf[h+chunk])},
			{bufferType: secbufferEmpty},
		}
		c.hmu.Lock()
		if c.closed {
			c.hmu.Unlock()
			return sent, net.ErrClosed
		}
		if c.fatal != nil {
			c.werr = c.fatal
			c.hmu.Unlock()
			return sent, c.werr
		}
		// Messages queued before this record was encrypted go out first.
		pending := c.pending
		c.pending = nil
		st := c.api.encryptMessage(&c.ctx, newDesc(bufs))
		c.hmu.Unlock()
		if err := c.writePending(pending); err != nil {
			return sent, err
		}
		if st != secEOK {
			c.werr = &StatusError{Op: "EncryptMessage", Code: st}
			return sent, c.werr
		}
		n := int(bufs[0].cbBuffer + bufs[1].cbBuffer + bufs[2].cbBuffer)
		if _, err := c.writeRaw(buf[:n]); err != nil {
			c.werr = err
			return sent, err
		}
		sent += chunk
		p = p[chunk:]
	}
	return sent, nil
}

// writePending sends post-handshake messages; wmu is held.
func (c *Conn) writePending(msgs [][]byte) error {
	for _, m := range msgs {
		if c.werr != nil {
			return c.werr
		}
		if _, err := c.writeRaw(m); err != nil {
			c.werr = err
		}
	}
	return c.werr
}

// unlockWrite sends what was queued while wmu was held and releases it. A
// message queued by Read after that send and before the unlock (Read found
// wmu taken) is sent by taking wmu again.
func (c *Conn) unlockWrite() {
	for {
		c.hmu.Lock()
		pending := c.pending
		c.pending = nil
		c.hmu.Unlock()
		c.writePending(pending)
		c.wmu.Unlock()

		c.hmu.Lock()
		more := len(c.pending) > 0
		c.hmu.Unlock()
		if !more || !c.wmu.TryLock() {
			return
		}
	}
}

// flushPending sends queued post-handshake messages unless a Write holds
// wmu, in which case that Write sends them (before its next record or when
// it ends): Read never waits behind a Write blocked on a peer that does not
// read.
func (c *Conn) flushPending() {
	if c.wmu.TryLock() {
		c.unlockWrite()
	}
}

// Close sends close_notify (ApplyControlToken(SCHANNEL_SHUTDOWN) and one
// more InitializeSecurityContext, RFC 8446 section 6.1), closes the
// connection and frees the Schannel context. While a Write is under way
// (blocked on a peer that does not read), Close does not wait for it: as
// with crypto/tls it closes the connection without close_notify, which ends
// the Write. Neither is close_notify sent after a write failed (the stream
// may end in half a record) or after a refused renegotiation.
func (c *Conn) Close() error {
	writing := !c.wmu.TryLock()
	c.hmu.Lock()
	if c.closed {
		c.hmu.Unlock()
		if !writing {
			c.wmu.Unlock()
		}
		return net.ErrClosed
	}
	var pending [][]byte
	var notify []byte
	if !writing && c.established && c.werr == nil && c.fatal == nil {
		pending = c.pending
		tok := uint32(schannelShutdown)
		in := []secBuffer{{cbBuffer: 4, bufferType: secbufferToken, pvBuffer: unsafe.Pointer(&tok)}}
		if c.api.applyControlToken(&c.ctx, newDesc(in)) == secEOK {
			notify = c.controlToken()
		}
	}
	c.pending = nil
	c.closed = true
	c.hmu.Unlock()
	if !writing {
		if len(pending) > 0 || len(notify) > 0 {
			c.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if c.writePending(pending) == nil && len(notify) > 0 {
				c.writeRaw(notify)
			}
		}
		c.wmu.Unlock()
	}
	err := c.raw.Close()
	c.hmu.Lock()
	c.release()
	c.hmu.Unlock()
	return err
}

// release frees the context and credentials.
func (c *Conn) release() {
	if !c.ctx.isZero() {
		c.api.deleteSecurityContext(&c.ctx)
		c.ctx = secHandle{}
	}
	if c.cred != nil {
		c.cred.free()
		c.cred = nil
	}
}

func (c *Conn) LocalAddr() net.Addr                { return c.raw.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.raw.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.raw.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.raw.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }
