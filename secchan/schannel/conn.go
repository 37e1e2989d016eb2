//go:build windows

package schannel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// Provider implements secchan.Provider with Windows Schannel. The zero value
// is ready to use and takes a client certificate, if any, from
// Config.Certificates.
type Provider struct {
	// ClientCert, when set, selects the client certificate from a Windows
	// certificate store instead of Config.Certificates.
	ClientCert *StoreCert

	// chainEngine, when non-zero, builds chains for system trust instead
	// of the current user's default engine (tests use an engine whose only
	// root is the test root).
	chainEngine windows.Handle
}

// Name returns "schannel".
func (Provider) Name() string { return "schannel" }

// Client runs the handshake over conn. See the package documentation.
func (p Provider) Client(ctx context.Context, conn net.Conn, cfg *secchan.Config) (secchan.Conn, error) {
	if cfg == nil {
		cfg = &secchan.Config{}
	}
	c := &Conn{raw: conn, cfg: cfg}
	if err := c.clientHandshake(ctx, p); err != nil {
		c.release()
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Conn is a TLS connection secured by Schannel.
type Conn struct {
	raw    net.Conn
	cfg    *secchan.Config
	target *uint16 // SNI and Schannel's session-cache key; nil for an IP address

	// hmu guards the SSPI handles against Close while Read or Write use them.
	hmu         sync.Mutex
	cred        *credential
	ctx         secHandle
	established bool
	closed      bool

	sizes streamSizes
	state secchan.State

	rmu   sync.Mutex
	in    []byte // received, not yet decrypted (may end in a partial record)
	plain []byte // decrypted, not yet returned to the caller
	rerr  error  // sticky read error (io.EOF after close_notify)

	wmu  sync.Mutex
	wbuf []byte
}

func (c *Conn) clientHandshake(ctx context.Context, p Provider) error {
	if err := ctx.Err(); err != nil {
		return c.ioError(ctx, "starting the handshake", err)
	}
	var cert *clientCert
	var err error
	switch {
	case p.ClientCert != nil:
		cert, err = p.ClientCert.open()
	case len(c.cfg.Certificates) > 0:
		cert, err = certFromTLS(c.cfg.Certificates[0])
	}
	if err != nil {
		return &secchan.HandshakeError{Provider: "schannel", Reason: err.Error(), Err: err}
	}
	c.cred, err = acquireCredentials(c.cfg, cert)
	if err != nil {
		if cert != nil {
			cert.free()
		}
		return err
	}
	if name := sniName(c.cfg.ServerName); name != "" {
		c.target, _ = windows.UTF16PtrFromString(name)
	}

	// The context bounds every read and write of the handshake.
	if dl, ok := ctx.Deadline(); ok {
		c.raw.SetDeadline(dl)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.raw.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
		c.raw.SetDeadline(time.Time{})
	}()

	if err := c.handshake(ctx, nil); err != nil {
		return err
	}
	c.established = true
	if st := queryContextAttributes(&c.ctx, secpkgAttrStreamSizes, unsafe.Pointer(&c.sizes)); st != secEOK {
		return statusError("QueryContextAttributes(STREAM_SIZES)", st)
	}
	c.fillState()
	c.cfg.Log("schannel: handshake done: %s, %s", secchan.VersionName(c.state.Version), c.state.CipherName)

	rep, err := p.verify(ctx, c)
	if err != nil {
		return err
	}
	c.state.Report = rep
	c.state.Verified = rep.OK()
	if err := c.cfg.Verdict(rep); err != nil {
		c.sendAlert(alertFor(rep))
		return err
	}
	if !rep.OK() {
		c.cfg.Log("certificate problems ignored (--insecure): %s", (&trust.Error{Report: rep}).Error())
	}
	return nil
}

// sniName returns the name to send in SNI: none for an IP address (RFC 6066
// section 3 forbids literal addresses), and no brackets or trailing dot.
func sniName(name string) string {
	name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
	if net.ParseIP(name) != nil {
		return ""
	}
	return name
}

func alertFor(r trust.Report) uint32 {
	switch {
	case r.Has(trust.KindExpired):
		return alertCertificateExpired
	case r.Has(trust.KindUntrustedRoot), r.Has(trust.KindMissingIntermediate), r.Has(trust.KindSelfSigned):
		return alertUnknownCA
	}
	return alertBadCertificate
}

// fillState queries the negotiated parameters.
func (c *Conn) fillState() {
	st := secchan.State{Provider: "schannel", ServerName: c.cfg.ServerName}
	var ci connectionInfo
	if queryContextAttributes(&c.ctx, secpkgAttrConnectionInfo, unsafe.Pointer(&ci)) == secEOK {
		st.Version = versionOf(ci.dwProtocol)
	}
	var cinfo cipherInfo
	cinfo.dwVersion = 1
	if queryContextAttributes(&c.ctx, secpkgAttrCipherInfo, unsafe.Pointer(&cinfo)) == secEOK {
		st.CipherSuite = uint16(cinfo.dwCipherSuite)
		st.CipherName = windows.UTF16ToString(cinfo.szCipherSuite[:])
		if st.Version == 0 {
			st.Version = uint16(cinfo.dwProtocol)
		}
	}
	if st.CipherSuite != 0 {
		if name := tls.CipherSuiteName(st.CipherSuite); !strings.HasPrefix(name, "0x") {
			st.CipherName = name
		}
	}
	if st.CipherName == "" {
		st.CipherName = fmt.Sprintf("cipher ALG_ID 0x%04x, %d bits; hash 0x%04x; exchange 0x%04x", ci.aiCipher, ci.dwCipherStrength, ci.aiHash, ci.aiExch)
	}
	if len(c.cfg.NextProtos) > 0 {
		var ap applicationProtocol
		if queryContextAttributes(&c.ctx, secpkgAttrApplicationProtocol, unsafe.Pointer(&ap)) == secEOK &&
			ap.protoNegoStatus == secApplicationProtocolNegotiationStatusSuccess && ap.protoNegoExt == secApplicationProtocolNegotiationExtALPN {
			st.NegotiatedProtocol = string(ap.protocolID[:ap.protocolIDSize])
		}
	}
	if rc := c.remoteCert(); rc != nil {
		st.PeerCertificates = peerChain(rc)
		st.OCSPResponse = certProperty(rc, certOCSPResponsePropID)
		windows.CertFreeCertificateContext(rc)
	}
	c.state = st
}

func versionOf(proto uint32) uint16 {
	switch {
	case proto&(spProtTLS13Client|0x1000) != 0:
		return tls.VersionTLS13
	case proto&(spProtTLS12Client|0x400) != 0:
		return tls.VersionTLS12
	case proto&(spProtTLS11Client|0x100) != 0:
		return tls.VersionTLS11
	case proto&(spProtTLS10Client|0x40) != 0:
		return tls.VersionTLS10
	}
	return 0
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
// the record is incomplete and more must be read).
func (c *Conn) decrypt() (bool, error) {
	c.hmu.Lock()
	if c.closed {
		c.hmu.Unlock()
		return false, net.ErrClosed
	}
	bufs := []secBuffer{{cbBuffer: uint32(len(c.in)), bufferType: secbufferData, pvBuffer: unsafe.Pointer(&c.in[0])},
		{bufferType: secbufferEmpty}, {bufferType: secbufferEmpty}, {bufferType: secbufferEmpty}}
	st := decryptMessage(&c.ctx, newDesc(bufs))
	c.hmu.Unlock()

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
	switch st {
	case secEIncompleteMessage:
		return false, nil
	case secEOK:
		// data points into c.in: copy it out before c.in moves.
		c.plain = append(c.plain[:0], data...)
	case secIContextExpired:
		return true, io.EOF // close_notify
	case secIRenegotiate:
		// A post-handshake message (TLS 1.3 NewSessionTicket or KeyUpdate,
		// RFC 8446 section 4.6): the extra bytes go back into the handshake.
		rest := append([]byte(nil), c.in[len(c.in)-min(extra, len(c.in)):]...)
		c.wmu.Lock()
		err := c.handshake(context.Background(), rest)
		c.wmu.Unlock()
		if err != nil {
			return false, err
		}
		return true, nil
	default:
		return false, &StatusError{Op: "DecryptMessage", Code: st}
	}
	extra = min(extra, len(c.in))
	c.in = c.in[:copy(c.in, c.in[len(c.in)-extra:])]
	return true, nil
}

// Write encrypts p in records of at most the stream's maximum message size
// and sends them.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
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
		st := encryptMessage(&c.ctx, newDesc(bufs))
		c.hmu.Unlock()
		if st != secEOK {
			return sent, &StatusError{Op: "EncryptMessage", Code: st}
		}
		n := int(bufs[0].cbBuffer + bufs[1].cbBuffer + bufs[2].cbBuffer)
		if _, err := c.writeRaw(buf[:n]); err != nil {
			return sent, err
		}
		sent += chunk
		p = p[chunk:]
	}
	return sent, nil
}

// Close sends close_notify (ApplyControlToken(SCHANNEL_SHUTDOWN) and one
// more InitializeSecurityContext, RFC 8446 section 6.1), closes the
// connection and frees the Schannel context.
func (c *Conn) Close() error {
	c.wmu.Lock()
	c.hmu.Lock()
	if c.closed {
		c.hmu.Unlock()
		c.wmu.Unlock()
		return net.ErrClosed
	}
	if c.established {
		tok := uint32(schannelShutdown)
		in := []secBuffer{{cbBuffer: 4, bufferType: secbufferToken, pvBuffer: unsafe.Pointer(&tok)}}
		if applyControlToken(&c.ctx, newDesc(in)) == secEOK {
			c.sendControlToken()
		}
	}
	c.closed = true
	c.hmu.Unlock()
	c.wmu.Unlock()
	err := c.raw.Close()
	c.hmu.Lock()
	c.release()
	c.hmu.Unlock()
	return err
}

// release frees the context and credentials.
func (c *Conn) release() {
	if !c.ctx.isZero() {
		deleteSecurityContext(&c.ctx)
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
