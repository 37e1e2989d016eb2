package schannel

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tlsmail/tlsmail/secchan"
)

// fakeSSPI is secAPI for tests on every OS: a stand-in for Schannel that
// returns what Windows returns where Wine cannot (Wine's Schannel has no
// TLS 1.3), over a toy record format that a test peer on a real loopback
// socket writes and reads:
//
//	type(1) epoch(1) 0x03 length(2) payload(length) trailer "mac!"(4)
//
// Records from the peer (what DecryptMessage sees), by type:
//
//	'D' application data: SEC_E_OK with the payload as SECBUFFER_DATA.
//	'T' a TLS 1.3 NewSessionTicket: SEC_I_RENEGOTIATE, as Windows 11 returns
//	    every ticket, with the payload (if any) as SECBUFFER_DATA; the next
//	    InitializeSecurityContext completes it.
//	'K' a TLS 1.3 KeyUpdate with update_requested: SEC_I_RENEGOTIATE; the
//	    next InitializeSecurityContext answers with a 'k' record and moves
//	    EncryptMessage to the next epoch (RFC 8446 section 4.6.3).
//	'P' the first part of a post-handshake message: SEC_I_RENEGOTIATE; the
//	    next InitializeSecurityContext calls return SEC_E_INCOMPLETE_MESSAGE
//	    until their input starts with a 'p' record.
//	'H' a TLS 1.2 HelloRequest: SEC_I_RENEGOTIATE; an InitializeSecurityContext
//	    after it would start a renegotiation (recorded in renegotiated).
//	'E' close_notify: SEC_I_CONTEXT_EXPIRED, with the payload (if any) as
//	    SECBUFFER_DATA.
//
// Initial handshake: the first InitializeSecurityContext sends an 'h'
// record; the one that gets an 'S' record from the peer completes with the
// attributes in grant. After ApplyControlToken(SCHANNEL_SHUTDOWN) it sends an
// 'C' record (close_notify).
//
// The fake has no lock of its own, on purpose: Conn promises to make every
// SSPI call with hmu held, so the race detector reports any call it makes
// outside that lock. Calls on a released handle are recorded in misuse.
type fakeSSPI struct {
	grant uint32 // context attributes InitializeSecurityContext returns

	ctxLive, credLive bool
	epoch             byte
	post              byte // post-handshake message waiting for InitializeSecurityContext
	shutdown          bool
	renegotiated      bool
	misuse            []string

	iscCalls    atomic.Int32
	onPost      func()        // called in DecryptMessage before it returns SEC_I_RENEGOTIATE
	incompleteC chan struct{} // closed at the first SEC_E_INCOMPLETE_MESSAGE of a post-handshake message
}

const (
	fakeCtxID  = 0x7c7c
	fakeCredID = 0xc4ed
	fakeHeader = 5
	fakeTrail  = 4

	grantAll = iscRetReplayDetect | iscRetSequenceDetect | iscRetConfidentiality | iscRetAllocatedMemory | iscRetStream
)

func newFakeSSPI() *fakeSSPI {
	return &fakeSSPI{grant: grantAll, ctxLive: true, credLive: true, incompleteC: make(chan struct{})}
}

type fakeCred struct {
	h secHandle
	f *fakeSSPI
}

func (c *fakeCred) handle() *secHandle { return &c.h }
func (c *fakeCred) free() {
	c.f.credLive = false
	c.h = secHandle{}
}

// fakeRecord encodes one record of the toy format.
func fakeRecord(typ, epoch byte, payload string) []byte {
	b := []byte{typ, epoch, 3, 0, 0}
	binary.BigEndian.PutUint16(b[3:], uint16(len(payload)))
	return append(append(b, payload...), "mac!"...)
}

// parseRecord returns the first record of b and its length, or n == 0 when
// b holds less than one record.
func parseRecord(b []byte) (typ, epoch byte, payload []byte, n int) {
	if len(b) < fakeHeader {
		return 0, 0, nil, 0
	}
	l := int(binary.BigEndian.Uint16(b[3:]))
	if len(b) < fakeHeader+l+fakeTrail {
		return 0, 0, nil, 0
	}
	return b[0], b[1], b[fakeHeader : fakeHeader+l], fakeHeader + l + fakeTrail
}

func buffers(d *secBufferDesc) []secBuffer {
	if d == nil || d.cBuffers == 0 {
		return nil
	}
	return unsafe.Slice(d.pBuffers, d.cBuffers)
}

func (f *fakeSSPI) checkCtx(op string, ctx *secHandle) {
	if !f.ctxLive || ctx == nil || ctx.lower != fakeCtxID {
		f.misuse = append(f.misuse, op+" on a deleted or zero security context")
	}
}

// out allocates a token "by Schannel" (ISC_REQ_ALLOCATE_MEMORY) into the
// first output buffer.
func out(d *secBufferDesc, tok []byte) {
	bufs := buffers(d)
	if len(bufs) == 0 || len(tok) == 0 {
		return
	}
	p := append([]byte(nil), tok...)
	bufs[0].pvBuffer, bufs[0].cbBuffer = unsafe.Pointer(&p[0]), uint32(len(p))
}

// setExtra reports the unconsumed tail of the input token as SECBUFFER_EXTRA
// in the second input buffer, as Schannel does.
func setExtra(in []secBuffer, extra int) {
	if len(in) >= 2 && extra > 0 {
		in[1].bufferType, in[1].cbBuffer = secbufferExtra, uint32(extra)
	}
}

func (f *fakeSSPI) initializeSecurityContext(cred, ctx *secHandle, target *uint16, req uint32, in *secBufferDesc, newCtx *secHandle, outDesc *secBufferDesc, attrs *uint32) uint32 {
	f.iscCalls.Add(1)
	if !f.credLive || cred == nil || cred.lower != fakeCredID {
		f.misuse = append(f.misuse, "InitializeSecurityContext with a released credentials handle")
		return 0x80090301 // SEC_E_INVALID_HANDLE
	}
	if ctx == nil { // the first call of the initial handshake
		*newCtx = secHandle{lower: fakeCtxID}
		f.ctxLive = true
		out(outDesc, fakeRecord('h', 0, ""))
		return secIContinueNeeded
	}
	f.checkCtx("InitializeSecurityContext", ctx)
	var input []byte
	inBufs := buffers(in)
	if len(inBufs) > 0 && inBufs[0].bufferType == secbufferToken {
		input = inBufs[0].bytes()
	}
	switch {
	case f.shutdown:
		out(outDesc, fakeRecord('C', f.epoch, ""))
		return secIContextExpired
	case f.post == 'T':
		f.post = 0
		*attrs = f.grant
		setExtra(inBufs, len(input))
		return secEOK
	case f.post == 'K':
		f.post = 0
		f.epoch++
		out(outDesc, fakeRecord('k', f.epoch, ""))
		*attrs = f.grant
		setExtra(inBufs, len(input))
		return secEOK
	case f.post == 'P':
		typ, _, _, n := parseRecord(input)
		if n == 0 || typ != 'p' {
			select {
			case <-f.incompleteC:
			default:
				close(f.incompleteC)
			}
			return secEIncompleteMessage
		}
		f.post = 0
		*attrs = f.grant
		setExtra(inBufs, len(input)-n)
		return secEOK
	case f.post == 'H':
		f.post = 0
		f.renegotiated = true
		out(outDesc, fakeRecord('c', f.epoch, "ClientHello"))
		return secIContinueNeeded
	}
	typ, _, _, n := parseRecord(input)
	if n == 0 {
		return secEIncompleteMessage
	}
	if typ != 'S' {
		return 0x80090326 // SEC_E_ILLEGAL_MESSAGE
	}
	*attrs = f.grant
	setExtra(inBufs, len(input)-n)
	return secEOK
}

func (f *fakeSSPI) deleteSecurityContext(ctx *secHandle) {
	f.checkCtx("DeleteSecurityContext", ctx)
	f.ctxLive = false
}

func (f *fakeSSPI) freeContextBuffer(unsafe.Pointer) {}

func (f *fakeSSPI) encryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	f.checkCtx("EncryptMessage", ctx)
	b := buffers(msg)
	if len(b) < 3 || b[0].bufferType != secbufferStreamHeader || b[0].cbBuffer != fakeHeader || b[2].cbBuffer != fakeTrail {
		return 0x8009035D // SEC_E_INVALID_PARAMETER
	}
	h := b[0].bytes()
	h[0], h[1], h[2] = 'D', f.epoch, 3
	binary.BigEndian.PutUint16(h[3:], uint16(b[1].cbBuffer))
	copy(b[2].bytes(), "mac!")
	return secEOK
}

func (f *fakeSSPI) decryptMessage(ctx *secHandle, msg *secBufferDesc) uint32 {
	f.checkCtx("DecryptMessage", ctx)
	b := buffers(msg)
	if len(b) != 4 || b[0].bufferType != secbufferData {
		return 0x8009035D
	}
	in := b[0].bytes()
	typ, _, payload, n := parseRecord(in)
	if n == 0 {
		return secEIncompleteMessage
	}
	base := unsafe.Pointer(&in[0])
	b[0] = secBuffer{cbBuffer: fakeHeader, bufferType: secbufferStreamHeader, pvBuffer: base}
	b[1] = secBuffer{cbBuffer: uint32(len(payload)), bufferType: secbufferData, pvBuffer: unsafe.Add(base, fakeHeader)}
	b[2] = secBuffer{cbBuffer: fakeTrail, bufferType: secbufferStreamTrailer, pvBuffer: unsafe.Add(base, fakeHeader+len(payload))}
	b[3] = secBuffer{bufferType: secbufferEmpty}
	if extra := len(in) - n; extra > 0 {
		b[3] = secBuffer{cbBuffer: uint32(extra), bufferType: secbufferExtra, pvBuffer: unsafe.Add(base, n)}
	}
	switch typ {
	case 'D':
		return secEOK
	case 'T', 'K', 'P', 'H':
		f.post = typ
		if f.onPost != nil {
			f.onPost()
		}
		return secIRenegotiate
	case 'E':
		return secIContextExpired
	}
	return 0x80090326
}

func (f *fakeSSPI) applyControlToken(ctx *secHandle, in *secBufferDesc) uint32 {
	f.checkCtx("ApplyControlToken", ctx)
	if b := buffers(in); len(b) == 1 && b[0].cbBuffer == 4 && *(*uint32)(b[0].pvBuffer) == schannelShutdown {
		f.shutdown = true
		return secEOK
	}
	return 0x80090302 // SEC_E_UNSUPPORTED_FUNCTION
}

// fakePair is an established Conn over the fake SSPI, connected over
// loopback TCP to peer, the server side of the test.
func fakePair(t *testing.T, version uint16) (*Conn, *fakeSSPI, *net.TCPConn) {
	t.Helper()
	c, f, peer := fakeConn(t)
	c.ctx = secHandle{lower: fakeCtxID}
	f.ctxLive = true
	c.established = true
	c.state.Version = version
	return c, f, peer
}

// fakeConn is a Conn over the fake SSPI before its handshake.
func fakeConn(t *testing.T) (*Conn, *fakeSSPI, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, _ := ln.Accept()
		accepted <- s
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var peer *net.TCPConn
	select {
	case s := <-accepted:
		if s == nil {
			t.Fatal("accept failed")
		}
		peer = s.(*net.TCPConn)
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { raw.Close(); peer.Close() })
	f := newFakeSSPI()
	f.ctxLive = false
	c := &Conn{raw: raw, cfg: &secchan.Config{}, api: f, cred: &fakeCred{h: secHandle{lower: fakeCredID}, f: f},
		sizes: streamSizes{cbHeader: fakeHeader, cbTrailer: fakeTrail, cbMaximumMessage: 16 << 10}}
	c.state.Provider = "schannel"
	t.Cleanup(func() {
		for _, m := range f.misuse {
			t.Errorf("SSPI misuse: %s", m)
		}
	})
	return c, f, peer
}

// readRecords reads records from the peer side, after the bytes already
// read in prefix, until done says it has enough (or an error, or 20 s).
func readRecords(peer net.Conn, prefix []byte, done func(recs [][]byte) bool) ([][]byte, error) {
	var recs [][]byte
	buf := append([]byte(nil), prefix...)
	tmp := make([]byte, 64<<10)
	peer.SetReadDeadline(time.Now().Add(20 * time.Second))
	defer peer.SetReadDeadline(time.Time{})
	for {
		for {
			_, _, _, n := parseRecord(buf)
			if n == 0 {
				break
			}
			recs = append(recs, append([]byte(nil), buf[:n]...))
			buf = buf[n:]
		}
		if done(recs) {
			return recs, nil
		}
		k, err := peer.Read(tmp)
		buf = append(buf, tmp[:k]...)
		if err != nil {
			return recs, fmt.Errorf("peer read after %d records: %w", len(recs), err)
		}
	}
}
