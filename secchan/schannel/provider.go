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
// Config.Certificates; it acquires a credential for every connection, and
// so never resumes a session. NewProvider returns one that resumes.
type Provider struct {
	// ClientCert, when set, selects the client certificate from a Windows
	// certificate store instead of Config.Certificates.
	ClientCert *StoreCert

	// creds, when set (NewProvider), shares credentials between the
	// connections whose Config has a SessionCache: Schannel caches its
	// sessions per credentials handle and target name (credcache.go).
	// Copies of the Provider share it.
	creds *credCache

	// chainEngine, when non-zero, builds chains for system trust instead
	// of the current user's default engine (tests use an engine whose only
	// root is the test root).
	chainEngine windows.Handle
}

// Name returns "schannel".
func (Provider) Name() string { return "schannel" }

// NewProvider returns a Provider that resumes sessions (RFC 5246 section
// 7.3, RFC 8446 section 2.2) for connections whose Config has a
// SessionCache. Schannel keeps the sessions itself, per credentials handle
// and server name: the connections of one SessionCache with the same client
// certificate and TLS versions share one credential, which connections with
// another client identity, other versions or another SessionCache never
// get. Config.SessionCache only scopes the sharing; Schannel stores nothing
// in it. A credential is freed when no connection uses it and the Provider
// let it go: beyond a few idle ones, or by CloseIdleCredentials. Set
// ClientCert on the returned value (copies share the credentials).
func NewProvider() Provider { return Provider{creds: newCredCache(maxIdleCredentials)} }

// CloseIdleCredentials frees the credentials of a Provider from NewProvider
// that no connection uses (and with them the sessions Schannel cached for
// them, and a client key kept for them in a key container). Connections
// under way are not affected.
func (p Provider) CloseIdleCredentials() {
	if p.creds != nil {
		p.creds.closeIdle()
	}
}

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
	cred, reused, err := p.credential(c.cfg)
	if err != nil {
		return err
	}
	c.cred = cred
	if reused {
		c.cfg.Log("schannel: using the credential of an earlier connection (Schannel resumes sessions per credential)")
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
	resumed := ""
	if c.state.Resumed {
		resumed = ", session resumed"
	}
	c.cfg.Log("schannel: handshake done: %s, %s%s", secchan.VersionName(c.state.Version), c.state.CipherName, resumed)

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

// credential returns the credentials handle for a connection with cfg: a
// shared one when the Provider shares (NewProvider) and cfg opted into
// resumption (a SessionCache), reused reporting whether an earlier
// connection acquired it; otherwise one for this connection only.
func (p Provider) credential(cfg *secchan.Config) (_ credHandle, reused bool, _ error) {
	certErr := func(err error) error {
		return &secchan.HandshakeError{Provider: "schannel", Reason: err.Error(), Err: err}
	}
	scope, share := sessionScope(cfg.SessionCache)
	share = share && p.creds != nil
	key := credKey{sessions: scope, min: cfg.MinVersion, max: cfg.MaxVersion}
	var opened *clientCert // from the store: opened first, to know which certificate it is
	switch {
	case p.ClientCert != nil:
		var err error
		if opened, err = p.ClientCert.open(); err != nil {
			return nil, false, certErr(err)
		}
		key.client = storeCertIdentity(opened.where, unsafe.Slice(opened.ctx.EncodedCert, opened.ctx.Length))
	case len(cfg.Certificates) > 0:
		id, ok := tlsCertIdentity(cfg.Certificates[0])
		key.client, share = id, share && ok
	}
	acquire := func() (credHandle, error) {
		cert := opened
		if cert == nil && len(cfg.Certificates) > 0 {
			var err error
			if cert, err = certFromTLS(cfg.Certificates[0]); err != nil {
				return nil, certErr(err)
			}
		}
		cred, err := acquireCredentials(cfg, cert)
		if err != nil {
			if cert != nil {
				cert.free()
			}
			return nil, err
		}
		return cred, nil
	}
	if !share {
		cred, err := acquire()
		return cred, false, err
	}
	cred, reused, err := p.creds.get(key, acquire)
	if reused && opened != nil {
		opened.free() // the shared credential holds its own context of this certificate
	}
	return cred, reused, err
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
	var si sessionInfo
	if queryContextAttributes(&c.ctx, secpkgAttrSessionInfo, unsafe.Pointer(&si)) == secEOK {
		st.Resumed = si.dwFlags&sessionInfoReconnect != 0
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
