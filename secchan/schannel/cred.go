//go:build windows

package schannel

import (
	"crypto/tls"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/secchan"
)

// credential is an acquired Schannel credentials handle and the client
// certificate it carries, if any.
type credential struct {
	h    secHandle
	cert *clientCert // nil: the NULL credential
}

func (c *credential) free() {
	if !c.h.isZero() {
		freeCredentialsHandle(&c.h)
		c.h = secHandle{}
	}
	if c.cert != nil {
		c.cert.free()
		c.cert = nil
	}
}

// protocols returns the client protocol bits between cfg's MinVersion and
// MaxVersion; TLS 1.2 is the floor when MinVersion is zero.
func protocols(cfg *secchan.Config) (enabled uint32) {
	lo, hi := cfg.MinVersion, cfg.MaxVersion
	if lo == 0 {
		lo = tls.VersionTLS12
	}
	if hi == 0 {
		hi = tls.VersionTLS13
	}
	for _, p := range []struct {
		v   uint16
		bit uint32
	}{{tls.VersionTLS10, spProtTLS10Client}, {tls.VersionTLS11, spProtTLS11Client},
		{tls.VersionTLS12, spProtTLS12Client}, {tls.VersionTLS13, spProtTLS13Client}} {
		if p.v >= lo && p.v <= hi {
			enabled |= p.bit
		}
	}
	return enabled
}

// acquireCredentials gets an outbound credentials handle: SCH_CREDENTIALS
// first (TLS 1.3 on Windows 10 1809 and later), then SCHANNEL_CRED for older
// systems. Both always carry SCH_CRED_NO_DEFAULT_CREDS (never pick a client
// certificate behind the user's back) and SCH_CRED_MANUAL_CRED_VALIDATION
// (tlsmail verifies the server itself). cert nil is the NULL credential.
func acquireCredentials(cfg *secchan.Config, cert *clientCert) (*credential, error) {
	enabled := protocols(cfg)
	if enabled == 0 {
		return nil, &secchan.HandshakeError{Provider: "schannel", Reason: "MinVersion is above MaxVersion: no TLS version is allowed",
			Fix: "check --tls-min-version and --tls-max-version"}
	}
	var certs []*windows.CertContext
	if cert != nil {
		certs = []*windows.CertContext{cert.ctx}
	}
	var pcerts **windows.CertContext
	if len(certs) > 0 {
		pcerts = &certs[0]
	}
	flags := uint32(schCredNoDefaultCreds | schCredManualCredValidation)

	c := &credential{}
	const all = spProtSSL2Client | spProtSSL3Client | spProtTLS10Client | spProtTLS11Client | spProtTLS12Client | spProtTLS13Client
	params := tlsParameters{grbitDisabledProtocols: all &^ enabled}
	sc := schCredentials{dwVersion: schCredentialsV, cCreds: uint32(len(certs)), paCred: pcerts,
		dwFlags: flags | schUseStrongCrypto, cTLSParameters: 1, pTLSParameters: &params}
	st := acquireCredentialsHandle(unsafe.Pointer(&sc), &c.h)
	if st == secEOK {
		c.cert = cert
		return c, nil
	}
	cfg.Log("schannel: SCH_CREDENTIALS not accepted (%s 0x%08X); falling back to SCHANNEL_CRED without TLS 1.3", CodeName(st), st)
	old := schannelCred{dwVersion: schannelCredVersion, cCreds: uint32(len(certs)), paCred: pcerts,
		grbitEnabledProtocols: enabled &^ spProtTLS13Client, dwFlags: flags}
	if old.grbitEnabledProtocols == 0 {
		return nil, statusError("this Windows cannot restrict Schannel to TLS 1.3 (SCH_CREDENTIALS unsupported)", st)
	}
	st = acquireCredentialsHandle(unsafe.Pointer(&old), &c.h)
	if st != secEOK {
		he := statusError("AcquireCredentialsHandle", st)
		if cert != nil {
			he.Fix = "the client certificate " + cert.describe() + " cannot be used: " + nonEmpty(he.Fix, "check that its private key is present and accessible to this user")
		}
		return nil, he
	}
	c.cert = cert
	return c, nil
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
