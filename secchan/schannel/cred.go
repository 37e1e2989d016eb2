//go:build windows

package schannel

import (
	"crypto/tls"
	"runtime"
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

// protocolBits returns the client protocol bits (SP_PROT_*_CLIENT) of the
// TLS versions lo to hi.
func protocolBits(lo, hi uint16) (enabled uint32) {
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

// credEnv is what acquireCredentials takes from the system: the Windows
// version and AcquireCredentialsHandle. Tests replace both to show what
// Wine never returns (other Windows builds, refusals of SCH_CREDENTIALS).
type credEnv struct {
	version winVersion
	acquire func(authData unsafe.Pointer, cred *secHandle) uint32
}

func systemCredEnv() credEnv {
	return credEnv{version: windowsVersion(), acquire: acquireCredentialsHandle}
}

// windowsVersion is the running Windows version from RtlGetVersion (which
// manifest shims do not lie to, unlike GetVersionEx).
func windowsVersion() winVersion {
	v := windows.RtlGetVersion()
	return winVersion{major: v.MajorVersion, minor: v.MinorVersion, build: v.BuildNumber}
}

// acquireCredentials gets an outbound credentials handle as planCredentials
// decides for this Windows: SCH_CREDENTIALS from Windows 10 1809 (the only
// structure through which Schannel offers TLS 1.3, offered from build 20348
// only), SCHANNEL_CRED before; SCHANNEL_CRED again only when SCH_CREDENTIALS
// is refused as not understood (credStructUnsupported), never for a refusal
// of what it carries. Every structure carries SCH_USE_STRONG_CRYPTO (no RC4,
// no 3DES, no MD5), SCH_CRED_NO_DEFAULT_CREDS (never pick a client
// certificate behind the user's back) and SCH_CRED_MANUAL_CRED_VALIDATION
// (tlsmail verifies the server itself). cert nil is the NULL credential.
func acquireCredentials(cfg *secchan.Config, cert *clientCert) (*credential, error) {
	return acquireCredentialsWith(systemCredEnv(), cfg, cert)
}

func acquireCredentialsWith(env credEnv, cfg *secchan.Config, cert *clientCert) (*credential, error) {
	plan, err := planCredentials(env.version, cfg.MinVersion, cfg.MaxVersion)
	if err != nil {
		return nil, err
	}
	if plan.note != "" {
		cfg.Log("schannel: %s", plan.note)
	}
	enabled := protocolBits(plan.lo, plan.hi)
	var certs []*windows.CertContext
	if cert != nil {
		certs = []*windows.CertContext{cert.ctx}
	}
	var pcerts **windows.CertContext
	if len(certs) > 0 {
		pcerts = &certs[0]
	}
	flags := uint32(schCredNoDefaultCreds | schCredManualCredValidation | schUseStrongCrypto)

	c := &credential{}
	if plan.schCredentials {
		const all = spProtSSL2Client | spProtSSL3Client | spProtTLS10Client | spProtTLS11Client | spProtTLS12Client | spProtTLS13Client
		params := tlsParameters{grbitDisabledProtocols: all &^ enabled}
		sc := schCredentials{dwVersion: schCredentialsV, cCreds: uint32(len(certs)), paCred: pcerts,
			dwFlags: flags, cTLSParameters: 1, pTLSParameters: &params}
		st := env.acquire(unsafe.Pointer(&sc), &c.h)
		runtime.KeepAlive(certs)
		if st == secEOK {
			c.cert = cert
			return c, nil
		}
		if !plan.fallback || !credStructUnsupported(st) {
			return nil, credentialError(st, cert)
		}
		cfg.Log("schannel: SCH_CREDENTIALS not understood on Windows %s (%s 0x%08X); using SCHANNEL_CRED", env.version, CodeName(st), st)
	}
	old := schannelCred{dwVersion: schannelCredVersion, cCreds: uint32(len(certs)), paCred: pcerts,
		grbitEnabledProtocols: enabled &^ spProtTLS13Client, dwFlags: flags}
	// Plans that may fall back here end at TLS 1.2 (planCredentials).
	st := env.acquire(unsafe.Pointer(&old), &c.h)
	runtime.KeepAlive(certs)
	if st != secEOK {
		return nil, credentialError(st, cert)
	}
	c.cert = cert
	return c, nil
}

// credentialError is a refused AcquireCredentialsHandle, naming the client
// certificate when there is one.
func credentialError(st uint32, cert *clientCert) error {
	he := statusError("AcquireCredentialsHandle", st)
	if cert != nil {
		he.Fix = "the client certificate " + cert.describe() + " cannot be used: " + nonEmpty(he.Fix, "check that its private key is present and accessible to this user")
	}
	return he
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
