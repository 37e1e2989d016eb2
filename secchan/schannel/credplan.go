package schannel

// The decisions about Schannel credentials that depend only on the Windows
// version, kept free of system calls (and of a build tag) so that they are
// tested on every OS with made-up version numbers.

import (
	"crypto/tls"
	"fmt"

	"github.com/tlsmail/tlsmail/secchan"
)

// Windows builds (RtlGetVersion's dwBuildNumber, major version 10) at which
// Schannel changes.
const (
	// buildSCHCredentials is Windows 10 1809 / Server 2019: the first
	// build that takes SCH_CREDENTIALS (version 5); older ones take only
	// SCHANNEL_CRED. (curl used this number too until its commit
	// acebf346fe of June 2026; it now takes SCH_CREDENTIALS only from
	// buildTLS13, never falls back, and so offers nothing past TLS 1.2
	// through SCH_CREDENTIALS. tlsmail keeps 17763 with TLS 1.3 disabled
	// in grbitDisabledProtocols below buildTLS13, and the narrow fallback
	// of credStructUnsupported.)
	buildSCHCredentials = 17763
	// buildTLS13 is Windows Server 2022; Windows 11 (22000) and later
	// also have TLS 1.3 built in. Earlier Windows 10 builds carry an
	// experimental TLS 1.3 that a registry switch enables and that is
	// broken (Microsoft: "Enabling TLS 1.3 on earlier versions of Windows
	// is not a safe system configuration"); curl offers TLS 1.3 from this
	// build only, and so does tlsmail.
	buildTLS13 = 20348
)

// winVersion is the Windows version as RtlGetVersion reports it (which,
// unlike GetVersionEx, is not subject to manifest compatibility shims).
type winVersion struct {
	major, minor, build uint32
}

func (v winVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.build) }

// atLeast reports whether v is Windows 10 build b or later (any later major
// version counts as later).
func (v winVersion) atLeast(b uint32) bool {
	switch {
	case v.major > 10:
		return true
	case v.major < 10:
		return false
	}
	return v.build >= b
}

// hasTLS13 reports whether Schannel on v has a TLS 1.3 that may be offered.
func (v winVersion) hasTLS13() bool { return v.atLeast(buildTLS13) }

// credPlan is how acquireCredentials asks Schannel for a credential.
type credPlan struct {
	// schCredentials: SCH_CREDENTIALS first; otherwise SCHANNEL_CRED only.
	schCredentials bool
	// fallback: when SCH_CREDENTIALS is refused with a status that means
	// "this structure is not understood" (credStructUnsupported), retry
	// with SCHANNEL_CRED. Never where TLS 1.3 is offered: there the
	// structure is known to work and SCHANNEL_CRED would silently lose
	// TLS 1.3.
	fallback bool
	// lo and hi are the TLS versions to enable (tls.VersionTLS1x).
	lo, hi uint16
	// note says what the plan left out, for the session log ("" if
	// nothing).
	note string
}

// planCredentials decides the credential structure and the TLS versions for
// Windows v and a Config's MinVersion and MaxVersion (zero: TLS 1.2 and the
// highest this Windows safely has). Strong crypto (SCH_USE_STRONG_CRYPTO) is
// not part of the plan because every plan carries it.
func planCredentials(v winVersion, minVersion, maxVersion uint16) (credPlan, error) {
	p := credPlan{lo: minVersion, hi: maxVersion}
	if p.lo == 0 {
		p.lo = tls.VersionTLS12
	}
	top := uint16(tls.VersionTLS13)
	if !v.hasTLS13() {
		top = tls.VersionTLS12
	}
	if p.hi == 0 || p.hi > top {
		if p.hi == tls.VersionTLS13 {
			p.note = fmt.Sprintf("TLS 1.3 not offered: Windows %s has no supported TLS 1.3 (it needs build %d, Windows Server 2022 or Windows 11)", v, buildTLS13)
		}
		p.hi = top
	}
	if p.lo > p.hi {
		if p.lo == tls.VersionTLS13 && !v.hasTLS13() {
			return credPlan{}, &secchan.HandshakeError{Provider: "schannel",
				Reason: fmt.Sprintf("TLS 1.3 is required but Windows %s has no supported TLS 1.3 (Schannel has it from build %d: Windows Server 2022, Windows 11)", v, buildTLS13),
				Fix:    "allow TLS 1.2 (minimum TLS version), or use the Go TLS provider"}
		}
		return credPlan{}, &secchan.HandshakeError{Provider: "schannel", Reason: "MinVersion is above MaxVersion: no TLS version is allowed",
			Fix: "check the minimum and maximum TLS versions"}
	}
	p.schCredentials = v.atLeast(buildSCHCredentials)
	p.fallback = p.schCredentials && !v.hasTLS13()
	return p, nil
}

// credStructUnsupported reports whether an AcquireCredentialsHandle status
// for SCH_CREDENTIALS means that this Schannel does not understand the
// structure (and SCHANNEL_CRED may work), as opposed to a problem with what
// it carries (a client certificate whose key cannot be used:
// SEC_E_UNKNOWN_CREDENTIALS, SEC_E_NO_CREDENTIALS; no common protocol:
// SEC_E_ALGORITHM_MISMATCH), which SCHANNEL_CRED would only hide.
//
//   - SEC_E_INTERNAL_ERROR: Schannel versions that know only
//     SCHANNEL_CRED answer an unknown dwVersion with it (Wine before 7.x,
//     seen with .NET's SCH_CREDENTIALS in ValveSoftware/wine#150).
//   - SEC_E_UNSUPPORTED_FUNCTION, SEC_E_INVALID_PARAMETER: what a version
//     check of the structure returns elsewhere in SSPI.
func credStructUnsupported(status uint32) bool {
	switch status {
	case 0x80090304, // SEC_E_INTERNAL_ERROR
		0x80090302, // SEC_E_UNSUPPORTED_FUNCTION
		0x8009035D: // SEC_E_INVALID_PARAMETER
		return true
	}
	return false
}

// keyPlan is where the private key of a client certificate given as a
// tls.Certificate (--cert/--key, --pfx) lives while a connection uses it.
type keyPlan int

const (
	// keyInMemory: a PKCS#12 import with PKCS12_NO_PERSIST_KEY; the key
	// never reaches the disk (as curl does).
	keyInMemory keyPlan = iota
	// keyInContainer: a named CryptoAPI key container of this user,
	// tlsmail-conn-<pid>-<random>, non-exportable, deleted when the
	// connection ends (on every path) and, after a crash, by the next
	// tlsmail that finds its process gone.
	keyInContainer
)

func (k keyPlan) String() string {
	if k == keyInMemory {
		return "in memory"
	}
	return "in a key container"
}

// planClientKey decides where a client key goes, and why when it is not
// kept in memory:
//   - under Wine, whose Schannel reads the key from a persisted key
//     container (secur32's get_key_blob opens the container's registry
//     key) and whose PFXImportCertStore ignores PKCS12_NO_PERSIST_KEY;
//   - where Schannel offers TLS 1.3: it then signs in LSASS, which cannot
//     reach a key that exists only in this process (PFXImportCertStore's
//     documentation; curl issue 17626, now in curl's KNOWN_BUGS, is this
//     failure: SEC_E_INTERNAL_ERROR on Windows Server 2022).
func planClientKey(wine bool, v winVersion) (keyPlan, string) {
	switch {
	case wine:
		return keyInContainer, "Wine's Schannel reads client keys from a key container"
	case v.hasTLS13():
		return keyInContainer, fmt.Sprintf("Schannel on Windows %s offers TLS 1.3 and signs in LSASS, which cannot use an in-memory key", v)
	}
	return keyInMemory, ""
}
