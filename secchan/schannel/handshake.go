package schannel

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
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
		c.hmu.Lock()
		if c.closed {
			c.hmu.Unlock()
			return net.ErrClosed
		}
		var cur *secHandle // nil: the first call creates the context
		if !c.ctx.isZero() {
			cur = &c.ctx
		}
		st := c.api.initializeSecurityContext(c.cred.handle(), cur, c.target, iscFlags, inDesc, &c.ctx, newDesc(outBufs), &attrs)
		token := append([]byte(nil), outBufs[0].bytes()...)
		c.api.freeContextBuffer(outBufs[0].pvBuffer)
		c.api.freeContextBuffer(outBufs[1].pvBuffer)
		if c.established && len(token) > 0 {
			// After the handshake a message (a KeyUpdate answer) must
			// precede every record encrypted from now on: queue it in the
			// same critical section (see Conn).
			c.pending = append(c.pending, token)
		}
		c.hmu.Unlock()
		alpn = nil // sent with the ClientHello only
		if len(token) > 0 {
			if c.established {
				c.flushPending()
			} else if _, err := c.writeRaw(token); err != nil && isOK(st) {
				return c.ioError(ctx, "sending a handshake message", err)
			}
		}
		switch st {
		case secEOK, secIContinueNeeded:
			c.keepExtra(inBufs)
			if st == secEOK {
				return checkAttrs(attrs)
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

// ioError is the HandshakeError for err, a failure to read or write the
// connection while doing what: a timeout or a closed connection as every
// provider words it (secchan.TransportError), else what failed and why.
func (c *Conn) ioError(ctx context.Context, what string, err error) error {
	if he, ok := secchan.TransportError(ctx, "schannel", err); ok {
		return he
	}
	return &secchan.HandshakeError{Provider: "schannel", Reason: what + ": " + err.Error(), Err: err}
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
	var alert []byte
	c.hmu.Lock()
	if !c.closed && c.api.applyControlToken(&c.ctx, newDesc(in)) == secEOK {
		alert = c.controlToken()
	}
	c.hmu.Unlock()
	if len(alert) > 0 {
		c.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.writeRaw(alert)
	}
}

// controlToken runs InitializeSecurityContext once more after
// ApplyControlToken and returns what it produces (an alert or close_notify).
// hmu is held.
func (c *Conn) controlToken() []byte {
	out := []secBuffer{{bufferType: secbufferToken}}
	var attrs uint32
	st := c.api.initializeSecurityContext(c.cred.handle(), &c.ctx, c.target, iscFlags, nil, &c.ctx, newDesc(out), &attrs)
	tok := append([]byte(nil), out[0].bytes()...)
	c.api.freeContextBuffer(out[0].pvBuffer)
	if st == secEOK || st == secIContextExpired || st == secIContinueNeeded {
		return tok
	}
	return nil
}

// requiredAttrs are the context attributes (ISC_RET_*) a connection must
// have: Schannel may return a context with less than was asked for, and
// without these the records would not be protected as TLS requires (or,
// without ALLOCATED_MEMORY, the output buffers would not be Schannel's to
// free).
var requiredAttrs = []struct {
	bit  uint32
	name string
}{
	{iscRetConfidentiality, "ISC_RET_CONFIDENTIALITY"},
	{iscRetReplayDetect, "ISC_RET_REPLAY_DETECT"},
	{iscRetSequenceDetect, "ISC_RET_SEQUENCE_DETECT"},
	{iscRetStream, "ISC_RET_STREAM"},
	{iscRetAllocatedMemory, "ISC_RET_ALLOCATED_MEMORY"},
}

// checkAttrs refuses a context that lacks any of requiredAttrs.
func checkAttrs(got uint32) error {
	var missing []string
	for _, a := range requiredAttrs {
		if got&a.bit == 0 {
			missing = append(missing, a.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &secchan.HandshakeError{Provider: "schannel",
		Reason: fmt.Sprintf("Schannel returned a security context without %s (attributes 0x%08X): the connection would not be protected as asked", strings.Join(missing, ", "), got),
		Fix:    "check the Windows Schannel configuration (group policy, registry); if it is the default, report this as a bug in tlsmail"}
}

// TLS alert numbers (RFC 8446 section 6.2).
const (
	alertBadCertificate     = 42
	alertCertificateExpired = 45
	alertUnknownCA          = 48
)
