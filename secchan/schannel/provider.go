//go:build windows

package schannel

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
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
	if err := cfg.CheckName(); err != nil {
		conn.Close()
		return nil, err
	}
	c := &Conn{raw: conn, cfg: cfg, api: winSSPI{}}
	if err := c.clientHandshake(ctx, p); err != nil {
		c.release()
		conn.Close()
		return nil, err
	}
	return c, nil
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
	cred, err := acquireCredentials(c.cfg, cert)
	if err != nil {
		if cert != nil {
			cert.free()
		}
		return err
	}
	c.cred = cred
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
		c.cfg.Log("certificate problems ignored (verification is off): %s", (&trust.Error{Report: rep}).Error())
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
		if st.PeerCertificates == nil {
			c.peerDER = rawPeerCerts(rc) // verify names what crypto/x509 could not parse
		}
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

// remoteCert returns the server's certificate context; the caller frees it.
func (c *Conn) remoteCert() *windows.CertContext {
	var rc *windows.CertContext
	if queryContextAttributes(&c.ctx, secpkgAttrRemoteCertContext, unsafe.Pointer(&rc)) != secEOK {
		return nil
	}
	return rc
}
