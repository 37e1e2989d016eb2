package schannel

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"
	"unsafe"

	"github.com/tlsmail/tlsmail/secchan"
)

const iscFlags = iscReqSequenceDetect | iscReqReplayDetect | iscReqConfidentiality |
	iscReqAllocateMemory | iscReqStream | iscReqExtendedError | iscReqUseSuppliedCreds

// alpnBuffer encodes SEC_APPLICATION_PROTOCOLS for protos (RFC 7301
// section 3.1 protocol name list inside Schannel's header).
func alpnBuffer(protos []string) []byte {
	var list []byte
	for _, p := range protos {
		if len(p) == 0 || len(p) > 255 {
			continue
		}
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	if len(list) == 0 {
		return nil
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(4+2+len(list))) // ProtocolListsSize
	b = binary.LittleEndian.AppendUint32(b, secApplicationProtocolNegotiationExtALPN)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(list)))
	return append(b, list...)
}

// handshake runs the InitializeSecurityContext loop (RFC 8446 section 4 and
// RFC 5246 section 7.3, driven by Schannel) until the context is complete.
// input holds bytes already received (the extra bytes of a record that
// asked for renegotiation, or nothing); what Schannel does not consume is
// left in c.in for the record layer: it may hold the server's first
// application data, such as an SMTP greeting sent with the last flight.
func (c *Conn) handshake(ctx context.Context, input []byte) error {
	c.in = append(c.in[:0], input...)
	var alpn []byte
	if !c.established {
		alpn = alpnBuffer(c.cfg.NextProtos)
	}
	retriedCreds := false
	for {
		var inBufs []secBuffer
		var inDesc *secBufferDesc
		if len(c.in) > 0 {
			inBufs = append(inBufs, secBuffer{cbBuffer: uint32(len(c.in)), bufferType: secbufferToken, pvBuffer: unsafe.Pointer(&c.in[0])})
			inBufs = append(inBufs, secBuffer{bufferType: secbufferEmpty})
		}
		if alpn != nil {
			inBufs = append(inBufs, secBuffer{cbBuffer: uint32(len(alpn)), bufferType: secbufferApplicationProtocols, pvBuffer: unsafe.Pointer(&alpn[0])})
		}
		if len(inBufs) > 0 {
			inDesc = newDesc(inBufs)
		}
		outBufs := []secBuffer{{bufferType: secbufferToken}, {bufferType: secbufferAlert}}
		var attrs uint32
		var st uint32
		if c.ctx.isZero() {
			st = c.api.initializeSecurityContext(c.cred.handle(), nil, c.target, iscFlags, inDesc, &c.ctx, newDesc(outBufs), &attrs)
		} else {
			st = c.api.initializeSecurityContext(c.cred.handle(), &c.ctx, c.target, iscFlags, inDesc, &c.ctx, newDesc(outBufs), &attrs)
		}
		alpn = nil // sent with the ClientHello only
		token := append([]byte(nil), outBufs[0].bytes()...)
		c.api.freeContextBuffer(outBufs[0].pvBuffer)
		c.api.freeContextBuffer(outBufs[1].pvBuffer)
		if len(token) > 0 {
			if _, err := c.writeRaw(token); err != nil && isOK(st) {
				return c.ioError(ctx, "sending a handshake message", err)
			}
		}
		switch st {
		case secEOK, secIContinueNeeded:
			c.keepExtra(inBufs)
			if st == secEOK {
				return nil
			}
			if len(c.in) == 0 {
				if err := c.readMore(ctx); err != nil {
					return err
				}
			}
		case secEIncompleteMessage:
			if err := c.readMore(ctx); err != nil {
				return err
			}
		case secIIncompleteCredentials:
			// The server asked for a client certificate and we have none
			// that fits: continue without one (the NULL credential).
			if retriedCreds {
				return statusError("InitializeSecurityContext", st)
			}
			retriedCreds = true
			c.cfg.Log("schannel: the server asked for a client certificate; continuing without one (SEC_I_INCOMPLETE_CREDENTIALS)")
		default:
			return statusError("InitializeSecurityContext", st)
		}
	}
}

func isOK(st uint32) bool { return st == secEOK || st == secIContinueNeeded }

// keepExtra drops the input Schannel consumed and keeps the unconsumed
// tail, which it reports by count in a SECBUFFER_EXTRA.
func (c *Conn) keepExtra(inBufs []secBuffer) {
	extra := 0
	if len(inBufs) >= 2 && inBufs[1].bufferType == secbufferExtra {
		extra = int(inBufs[1].cbBuffer)
	}
	if extra > len(c.in) {
		extra = len(c.in)
	}
	c.in = c.in[:copy(c.in, c.in[len(c.in)-extra:])]
}

// readMore appends what the connection has to c.in.
func (c *Conn) readMore(ctx context.Context) error {
	if cap(c.in)-len(c.in) < 4096 {
		n := make([]byte, len(c.in), 2*cap(c.in)+16<<10)
		copy(n, c.in)
		c.in = n
	}
	k, err := c.raw.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+k]
	if err != nil && k == 0 {
		return c.ioError(ctx, "reading the server's handshake", err)
	}
	return nil
}

func (c *Conn) ioError(ctx context.Context, what string, err error) error {
	he := &secchan.HandshakeError{Provider: "schannel", Err: err}
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		he.Reason = "timed out or cancelled during the handshake: " + ctx.Err().Error()
		he.Fix = "check that the server speaks TLS on this port, or raise --timeout"
		he.Err = errors.Join(ctx.Err(), err)
	case errors.As(err, &ne) && ne.Timeout():
		he.Reason = "timed out during the handshake"
		he.Fix = "check that the server speaks TLS on this port, or raise --timeout"
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		he.Reason = "the server closed the connection during the handshake"
		he.Fix = "the server may not support TLS 1.2 or later, or may require a client certificate; try 'tlsmail probe --versions'"
	default:
		he.Reason = what + ": " + err.Error()
	}
	return he
}

// writeRaw sends all of b.
func (c *Conn) writeRaw(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.raw.Write(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sendAlert asks Schannel for a fatal alert (SCHANNEL_ALERT_TOKEN) and sends
// it: the server learns why the client gave up. Best effort.
func (c *Conn) sendAlert(number uint32) {
	tok := [3]uint32{2 /* SCHANNEL_ALERT */, 2 /* TLS1_ALERT_FATAL */, number}
	in := []secBuffer{{cbBuffer: uint32(unsafe.Sizeof(tok)), bufferType: secbufferToken, pvBuffer: unsafe.Pointer(&tok)}}
	if c.api.applyControlToken(&c.ctx, newDesc(in)) != secEOK {
		return
	}
	c.sendControlToken()
}

// sendControlToken runs InitializeSecurityContext once more after
// ApplyControlToken and sends what it produces (an alert or close_notify).
func (c *Conn) sendControlToken() {
	out := []secBuffer{{bufferType: secbufferToken}}
	var attrs uint32
	st := c.api.initializeSecurityContext(c.cred.handle(), &c.ctx, c.target, iscFlags, nil, &c.ctx, newDesc(out), &attrs)
	tok := append([]byte(nil), out[0].bytes()...)
	c.api.freeContextBuffer(out[0].pvBuffer)
	if (st == secEOK || st == secIContextExpired || st == secIContinueNeeded) && len(tok) > 0 {
		c.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.writeRaw(tok)
	}
}

// TLS alert numbers (RFC 8446 section 6.2).
const (
	alertBadCertificate     = 42
	alertCertificateExpired = 45
	alertUnknownCA          = 48
)
