package schannel

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// This file turns what crypt32 said about a server's chain into a
// trust.Report. It has no build tag: the decision is a pure function of plain
// data (systemResult), so that it is tested on every OS with results Wine
// never returns (an offline CRL together with a wrong name, say), and
// verify.go only gathers those results from Windows.

// Chain trust-status error bits (wincrypt.h, CERT_TRUST_STATUS.dwErrorStatus).
const (
	trustIsNotTimeValid          = 0x00000001
	trustIsRevoked               = 0x00000004
	trustIsNotSignatureValid     = 0x00000008
	trustIsNotValidForUsage      = 0x00000010
	trustIsUntrustedRoot         = 0x00000020
	trustRevocationStatusUnknown = 0x00000040
	trustIsCyclic                = 0x00000080
	trustInvalidExtension        = 0x00000100
	trustInvalidPolicyConstr     = 0x00000200
	trustInvalidBasicConstraints = 0x00000400
	trustInvalidNameConstraints  = 0x00000800
	trustNameConstraintBits      = 0x0000F000
	trustIsPartialChain          = 0x00010000
	trustHasWeakSignature        = 0x00100000
	trustIsOfflineRevocation     = 0x01000000
	trustIsExplicitDistrust      = 0x04000000
	// trustHasNotSupportedCriticalExt: a critical extension Windows does
	// not know (RFC 5280 section 4.2: the certificate must be rejected).
	trustHasNotSupportedCriticalExt = 0x08000000

	// knownTrustBits are the error bits mapBits maps to a problem.
	knownTrustBits = trustIsNotTimeValid | trustIsRevoked | trustIsNotSignatureValid | trustIsNotValidForUsage |
		trustIsUntrustedRoot | trustRevocationStatusUnknown | trustIsCyclic | trustInvalidExtension |
		trustInvalidPolicyConstr | trustInvalidBasicConstraints | trustInvalidNameConstraints |
		trustNameConstraintBits | trustIsPartialChain | trustHasWeakSignature | trustIsOfflineRevocation |
		trustIsExplicitDistrust | trustHasNotSupportedCriticalExt
	// benignTrustBits are error bits that do not make a chain wrong here:
	// CERT_TRUST_IS_NOT_TIME_NESTED (0x2: RFC 5280 does not require a
	// certificate's validity to nest in its issuer's), the CTL bits
	// (0x20000, 0x40000, 0x80000: no CTL is used) and
	// CERT_TRUST_NO_ISSUANCE_CHAIN_POLICY (0x02000000: no issuance policy is
	// requested).
	benignTrustBits = 0x00000002 | 0x00020000 | 0x00040000 | 0x00080000 | 0x02000000

	// CertVerifyCertificateChainPolicy results (winerror.h).
	certEExpired        = 0x800B0101
	certERole           = 0x800B0103
	certEUntrustedRoot  = 0x800B0109
	certEChaining       = 0x800B010A
	certECNNoMatch      = 0x800B010F
	certEWrongUsage     = 0x800B0110
	certEInvalidName    = 0x800B0114
	certERevFailure     = 0x800B010E
	trustECertSignature = 0x80096004
	cryptERevoked       = 0x80092010
	cryptENoRevCheck    = 0x80092012
	cryptERevOffline    = 0x80092013
)

// The second CERT_CHAIN_POLICY_SSL call checks the server name and nothing
// else: every other check is switched off, both in the SSL extra parameters
// (SSL_EXTRA_CERT_CHAIN_POLICY_PARA.fdwChecks, SECURITY_FLAG_IGNORE_*) and in
// the base policy flags (CERT_CHAIN_POLICY_PARA.dwFlags,
// CERT_CHAIN_POLICY_IGNORE_*), so that the policy, which stops at its first
// error, reaches the name whatever else is wrong with the chain. As in .NET's
// SslStream, CERT_CHAIN_POLICY_IGNORE_INVALID_NAME_FLAG (name constraints)
// stays off; when the policy then stops at a name-constraint error, the name
// is still judged by the Go-side check (nameProblem).
const (
	securityFlagIgnoreRevocation       = 0x00000080
	securityFlagIgnoreUnknownCA        = 0x00000100
	securityFlagIgnoreWrongUsage       = 0x00000200
	securityFlagIgnoreCertCNInvalid    = 0x00001000 // never set: the name is what is checked
	securityFlagIgnoreCertDateInvalid  = 0x00002000
	nameOnlyChecks                     = securityFlagIgnoreRevocation | securityFlagIgnoreUnknownCA | securityFlagIgnoreWrongUsage | securityFlagIgnoreCertDateInvalid
	policyIgnoreAll                    = 0x00000FFF // CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG ... IGNORE_ROOT_REV_UNKNOWN_FLAG
	policyIgnoreInvalidName            = 0x00000040 // CERT_CHAIN_POLICY_IGNORE_INVALID_NAME_FLAG (name constraints)
	policyIgnorePeerTrust              = 0x00001000 // CERT_CHAIN_POLICY_IGNORE_PEER_TRUST_FLAG
	policyIgnoreNotSupportedCriticalEx = 0x00002000 // CERT_CHAIN_POLICY_IGNORE_NOT_SUPPORTED_CRITICAL_EXT_FLAG
	policyIgnoreWeakSignature          = 0x08000000 // CERT_CHAIN_POLICY_IGNORE_WEAK_SIGNATURE_FLAG
	nameOnlyPolicyFlags                = policyIgnoreAll&^policyIgnoreInvalidName | policyIgnorePeerTrust | policyIgnoreNotSupportedCriticalEx | policyIgnoreWeakSignature
)

// CertGetCertificateChain flags (wincrypt.h).
const (
	chainRevocationCheckChainExcludeRoot = 0x40000000
	// chainRevocationAccumulativeTimeout makes CERT_CHAIN_PARA's
	// dwUrlRetrievalTimeout bound all the CRL and OCSP fetches of one chain
	// together instead of each one (CERT_CHAIN_REVOCATION_ACCUMULATIVE_TIMEOUT).
	chainRevocationAccumulativeTimeout = 0x08000000
)

// chainElement is one certificate of the chain crypt32 built.
type chainElement struct {
	// Cert is the certificate; nil when its DER does not parse.
	Cert *x509.Certificate
	// Index is its position in the chain the server sent; -1 when it came
	// from a Windows store (normally the root).
	Index int
	// Status holds its CERT_TRUST_* error bits.
	Status uint32
}

// policyResult is the outcome of one CertVerifyCertificateChainPolicy call.
type policyResult struct {
	// Err is set when the call itself failed; Status is then meaningless.
	Err error
	// Status is CERT_CHAIN_POLICY_STATUS.dwError: 0, or the first error the
	// policy met (CERT_E_*, CRYPT_E_*, TRUST_E_*).
	Status uint32
}

// failed reports whether the call ran and found an error.
func (p policyResult) failed() bool { return p.Err == nil && p.Status != 0 }

// systemResult is everything crypt32 said about one server chain, as plain
// data.
type systemResult struct {
	// BuildErr is set when CertGetCertificateChain failed; the other fields
	// are then empty.
	BuildErr error
	// Elements is the first simple chain, leaf first.
	Elements []chainElement
	// SimpleStatus is that simple chain's CERT_TRUST_* error bits;
	// ChainStatus those of the whole chain context.
	SimpleStatus, ChainStatus uint32
	// Policy is CERT_CHAIN_POLICY_SSL with the server name and every check
	// on; NamePolicy is the same policy with every check off but the name
	// (nameOnlyChecks, nameOnlyPolicyFlags), made for a DNS name only
	// (windowsServerName): zero for an IP address or no name.
	Policy, NamePolicy policyResult
}

// policyServerName is the name given to the SSL policy and to the Go-side
// name check: a DNS name without its trailing dot ("mail.example.com." is
// the absolute form of "mail.example.com", RFC 1034 section 3.1, and
// certificates never carry the dot: RFC 6125 section 6.4.1), an IP address
// without the brackets of an IPv6 literal.
func policyServerName(name string) string {
	if ip := strings.Trim(name, "[]"); net.ParseIP(ip) != nil {
		return ip
	}
	return strings.TrimSuffix(name, ".")
}

// windowsServerName is the name given to Windows' SSL policy: the DNS name
// of policyServerName, or "" for an IP address. Windows' policy is made for
// host names (and Wine's matches DNS names only, refusing every IP address,
// even one the certificate lists); an IP address is judged by the Go-side
// check alone, against the certificate's IP SANs as crypto/x509 does.
func windowsServerName(name string) string {
	n := policyServerName(name)
	if net.ParseIP(n) != nil {
		return ""
	}
	return n
}

// revocationTimeout returns CERT_CHAIN_PARA.dwUrlRetrievalTimeout, in
// milliseconds, for a chain built at now: the revocation share of what is
// left until the handshake's deadline (secchan.RevocationBudget, the same
// share as every provider's), so that fetches that run out of time still
// leave time to report an unknown revocation status (a warning in soft
// mode) rather than a timeout; without a deadline,
// perFetch (zero: trust.DefaultFetchTimeout, the crypto/tls provider's bound
// for each fetch). It is used with chainRevocationAccumulativeTimeout, so
// that it bounds every CRL and OCSP fetch of the chain together; without it
// Windows waits 15 seconds for each URL. It is never 0, which would mean
// Windows' default: a deadline already passed gives 1 ms.
func revocationTimeout(now, deadline time.Time, perFetch time.Duration) uint32 {
	d := perFetch
	if d <= 0 {
		d = trust.DefaultFetchTimeout
	}
	if b, ok := secchan.RevocationBudget(now, deadline); ok {
		d = b
	}
	ms := d.Milliseconds()
	switch {
	case ms < 1:
		return 1
	case ms > 1<<31:
		return 1 << 31
	}
	return uint32(ms)
}

// decideSystem turns what crypt32 said about the server's chain into a
// report, listing every problem rather than the first: every CERT_TRUST_*
// bit of every element (Wine's SSL policy accepts a partial chain from an
// unknown CA, so the policy verdict alone is not enough), the checks Windows
// leaves to machine policy (addLocalChecks), the SSL policy's verdict, and
// the server name, which is always checked on its own.
//
// The name needs its own check because CERT_CHAIN_POLICY_SSL reports only
// its first error and compares the name only when the chain is otherwise
// clean: with an offline CRL (a warning under soft revocation) or any other
// error, the policy never looks at the name. So the name is judged twice, by
// the name-only policy call (res.NamePolicy) and by the leaf's hostname
// check as in package trust (RFC 6125, 6.4); either one failing is a
// name-mismatch error.
//
// Revocation follows opts.Revocation: an unknown or offline status is a
// warning in soft mode, an error in strict mode, and ignored when off.
func decideSystem(res systemResult, chain []*x509.Certificate, opts trust.Options) trust.Report {
	r := trust.Report{Chain: chain}
	add := func(k trust.Kind, sev trust.Severity, cert int, summary, fix string) {
		for _, p := range r.Problems {
			if p.Kind == k && p.Cert == cert {
				return
			}
		}
		pr := trust.Problem{Kind: k, Severity: sev, Cert: cert, Summary: summary, Fix: fix}
		if cert >= 0 && cert < len(chain) {
			pr.Subject = chain[cert].Subject.String()
		}
		r.Problems = append(r.Problems, pr)
	}
	mode := opts.Revocation
	if mode == "" {
		mode = trust.RevocationSoft
	}
	name := policyServerName(opts.Name)

	// Fail closed: a chain Windows did not build, a chain context without a
	// simple chain, or an SSL policy call that itself failed is no verdict,
	// and must not pass for a clean chain because no error bit is set.
	switch {
	case res.BuildErr != nil:
		add(trust.KindMalformed, trust.SeverityError, -1, fmt.Sprintf("Windows could not build a certificate chain: %v", res.BuildErr),
			"inspect the server's certificate chain")
	case len(res.Elements) == 0:
		add(trust.KindMalformed, trust.SeverityError, -1, "Windows built no certificate chain from the server's certificates",
			"inspect the server's certificate chain")
	case res.Policy.Err != nil:
		add(trust.KindMalformed, trust.SeverityError, -1, fmt.Sprintf("Windows could not check the chain against the SSL policy: %v", res.Policy.Err),
			"inspect the server's certificate chain")
	}
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	var path []*x509.Certificate
	for n, e := range res.Elements {
		if e.Cert != nil {
			path = append(path, e.Cert)
		}
		bits := e.Status
		last := n == len(res.Elements)-1
		if last {
			bits |= res.SimpleStatus & (trustIsPartialChain | trustIsUntrustedRoot)
		}
		mapBits(bits, e.Index, e.Cert, now, last && len(res.Elements) == 1, mode, add)
	}
	if len(res.Elements) > 0 && r.OK() {
		r.Path = path
	}
	if len(path) > 0 {
		addLocalChecks(&r, path, opts, add)
	}
	mapBits(res.ChainStatus&^(trustIsNotTimeValid|trustIsRevoked|trustIsNotSignatureValid|trustIsNotValidForUsage|trustIsPartialChain|trustIsUntrustedRoot|trustIsExplicitDistrust), -1, nil, now, false, mode,
		func(k trust.Kind, sev trust.Severity, cert int, summary, fix string) {
			if !r.Has(k) {
				add(k, sev, cert, summary, fix)
			}
		})

	// The name, on its own: the Go-side check first (its summary lists the
	// names the certificate has), then Windows' two policy calls.
	if name != "" {
		var leaf *x509.Certificate
		if len(chain) > 0 {
			leaf = chain[0]
		}
		if p := nameProblem(leaf, name); p != nil {
			add(p.Kind, p.Severity, p.Cert, p.Summary, p.Fix)
		}
		for _, pol := range []policyResult{res.NamePolicy, res.Policy} {
			if windowsServerName(name) != "" && pol.failed() && pol.Status == certECNNoMatch && !r.Has(trust.KindNameMismatch) {
				k, sev, summary, fix := policyKind(pol.Status, name, mode)
				add(k, sev, 0, summary, fix)
			}
		}
	}
	if res.Policy.failed() && res.Policy.Status != certECNNoMatch {
		if k, sev, summary, fix := policyKind(res.Policy.Status, name, mode); k != "" && !r.Has(k) {
			add(k, sev, -1, summary, fix)
		}
	}
	trust.SortProblems(r.Problems)
	return r
}

// nameProblem checks name against leaf as package trust does for the
// crypto/tls provider (trust.NameProblem: the subjectAltName only, RFC 6125
// section 6.4; IP addresses against the IP SANs) and returns its
// name-mismatch problem, if any. A missing leaf is no match.
func nameProblem(leaf *x509.Certificate, name string) *trust.Problem {
	if leaf == nil || len(leaf.Raw) == 0 {
		return &trust.Problem{Kind: trust.KindNameMismatch, Severity: trust.SeverityError, Cert: 0,
			Summary: fmt.Sprintf("the server's certificate could not be read, so it cannot be checked against %q", name),
			Fix:     "inspect the server's certificate chain"}
	}
	return trust.NameProblem(leaf, name)
}

// localKinds are the problems package trust finds in the certificates
// themselves, whichever root anchors them, that Windows' chain engine leaves
// to machine policy (RSA key size, SHA-1 signatures: off by default for
// CertGetCertificateChain), does not check everywhere (EKU nesting in
// intermediates under Wine, path length reported as a basic-constraints
// error) or does not warn about (a certificate about to expire).
var localKinds = map[trust.Kind]bool{
	trust.KindWeakKey: true, trust.KindWeakSignature: true, trust.KindWrongUsage: true,
	trust.KindPathLength: true, trust.KindExpiringSoon: true,
}

// addLocalChecks runs package trust over the chain anchored at the last
// certificate of path, the chain crypt32 built (trusted or not: crypt32 has
// judged the root), and adds the problems of localKinds Windows did not
// report, and a revocation the local CRLs (opts.CRLs, msmtp's
// tls_crl_file) show, which crypt32 is not given (or the warning that one
// of them is past its next update). Verification is thereby
// never weaker than the crypto/tls provider's for these kinds, whatever the
// machine's policy.
//
// The local check is given the intermediates of path besides those the
// server sent: crypt32 may have fetched one the server did not send (from
// the certificate's authority information access URL, or a store), and
// without it the leaf would not be paired with its issuer, so that a local
// CRL of that issuer listing the leaf would go unread. A problem of such a
// certificate, which has no place in the server's chain, is reported on
// certificate -1 (its summary names it).
func addLocalChecks(r *trust.Report, path []*x509.Certificate, opts trust.Options, add addFunc) {
	top := path[len(path)-1]
	pool := x509.NewCertPool()
	pool.AddCert(top)
	chain := slices.Clip(r.Chain)
	for _, c := range path[:len(path)-1] {
		if !slices.ContainsFunc(r.Chain, func(s *x509.Certificate) bool { return s != nil && s.Equal(c) }) {
			chain = append(chain, c)
		}
	}
	lo := opts
	lo.Roots, lo.Name, lo.Pins, lo.Revocation, lo.StapledOCSP, lo.Cache = pool, "", nil, trust.RevocationOff, nil, nil
	// The certificates after the server's own are named by their subject,
	// as ones the server did not send: their indexes are no indexes of
	// the chain the report's indexes count.
	lo.Sent = len(r.Chain)
	lr := trust.Verify(chain, lo)
	if lr.Anchor != nil {
		r.Anchor = lr.Anchor
	}
	for _, p := range lr.Problems {
		cert, summary := p.Cert, p.Summary
		if cert >= len(r.Chain) {
			cert = -1
		}
		// With the online check off here, a revocation, or a revocation
		// status left unknown (a local CRL past its next update), can
		// only come from the local CRLs.
		switch {
		case (localKinds[p.Kind] || p.Kind == trust.KindRevoked) && !r.Has(p.Kind):
			add(p.Kind, p.Severity, cert, summary, p.Fix)
		case p.Kind == trust.KindRevocationUnknown:
			add(p.Kind, p.Severity, cert, summary, p.Fix)
		}
	}
}

type addFunc func(k trust.Kind, sev trust.Severity, cert int, summary, fix string)

// revocationUnknown is the severity and fix of a revocation status that
// could not be learned, in mode; ok is false when mode is off.
func revocationUnknown(mode trust.RevocationMode) (sev trust.Severity, fix string, ok bool) {
	switch mode {
	case trust.RevocationOff:
		return "", "", false
	case trust.RevocationStrict:
		return trust.SeverityError, "check that this computer can reach the CA's CRL and OCSP servers (plain http, port 80), or use soft revocation checking to accept an unknown status with a warning", true
	}
	return trust.SeverityWarning, "check that this computer can reach the CA's CRL and OCSP servers (plain http, port 80)", true
}

// mapBits turns CERT_TRUST_* error bits of one chain element into problems.
func mapBits(bits uint32, i int, x *x509.Certificate, now time.Time, lone bool, mode trust.RevocationMode, add addFunc) {
	who := "the chain"
	if x != nil {
		who = fmt.Sprintf("certificate %q", x.Subject.CommonName)
	}
	code := func(b uint32) string { return fmt.Sprintf(" (Windows trust status 0x%08X)", b) }
	if bits&trustIsNotTimeValid != 0 {
		switch {
		case x != nil && now.Before(x.NotBefore):
			add(trust.KindNotYetValid, trust.SeverityError, i, fmt.Sprintf("%s is not valid before %s", who, x.NotBefore.UTC().Format(time.RFC3339)),
				"check this computer's clock, or wait until the certificate's start date")
		default:
			when := ""
			if x != nil {
				when = " on " + x.NotAfter.UTC().Format(time.RFC3339)
			}
			add(trust.KindExpired, trust.SeverityError, i, who+" expired"+when, "renew the certificate on the server")
		}
	}
	if bits&trustIsRevoked != 0 {
		add(trust.KindRevoked, trust.SeverityError, i, who+" is revoked"+code(bits), "the server must get a new certificate")
	}
	if bits&trustIsNotSignatureValid != 0 {
		add(trust.KindMalformed, trust.SeverityError, i, who+" has a signature that does not verify"+code(bits), "the chain is corrupt or forged; inspect the server's certificate chain")
	}
	if bits&trustIsNotValidForUsage != 0 {
		add(trust.KindWrongUsage, trust.SeverityError, i, who+" is not valid for server authentication"+code(bits),
			"the server needs a certificate with the serverAuth extended key usage")
	}
	if bits&(trustIsUntrustedRoot|trustIsExplicitDistrust) != 0 {
		if lone && x != nil && bytes.Equal(x.RawIssuer, x.RawSubject) && !x.IsCA {
			add(trust.KindSelfSigned, trust.SeverityError, i, who+" is self-signed", "use a certificate from a CA, or add this certificate to the trusted roots if you trust it")
		} else {
			add(trust.KindUntrustedRoot, trust.SeverityError, i, who+" is not issued by a CA this computer trusts"+code(bits),
				"add the issuing CA's certificate to the trusted roots, install it in the Windows trust store, or have the server use a publicly trusted CA")
		}
	}
	if bits&trustIsPartialChain != 0 {
		// Windows cannot tell a missing intermediate from an unknown root:
		// either way the chain stops at a certificate whose issuer it lacks.
		// When that certificate is a CA the server did send its
		// intermediates and the root is what is unknown.
		if x != nil && x.IsCA {
			add(trust.KindUntrustedRoot, trust.SeverityError, i, who+" is issued by "+fmt.Sprintf("%q", x.Issuer.CommonName)+", a CA this computer does not know"+code(bits),
				"add the issuing CA's certificate to the trusted roots, install it in the Windows trust store, or have the server use a publicly trusted CA")
		} else {
			add(trust.KindMissingIntermediate, trust.SeverityError, i, "the chain ends at "+who+", whose issuer is not available"+code(bits),
				"configure the server to send the intermediate certificates along with its own")
		}
	}
	if bits&(trustIsCyclic|trustInvalidExtension|trustInvalidPolicyConstr|trustHasNotSupportedCriticalExt) != 0 {
		add(trust.KindMalformed, trust.SeverityError, i, who+" has invalid or unsupported critical extensions, or a cyclic chain"+code(bits), "inspect the server's certificate chain")
	}
	if unknown := bits &^ (knownTrustBits | benignTrustBits); unknown != 0 {
		// Fail closed: an error bit this code does not know (a later
		// Windows's) is not nothing, whatever the policy's first error.
		add(trust.KindMalformed, trust.SeverityError, i, fmt.Sprintf("Windows reported a problem with %s that tlsmail does not know (trust status bits 0x%08X)", who, unknown),
			"inspect the server's certificate chain")
	}
	if bits&trustInvalidBasicConstraints != 0 {
		// The bit means either "not a CA" or "path length exceeded"
		// (RFC 5280, 4.2.1.9); a certificate that is a CA can only be
		// in the second case.
		if x != nil && x.BasicConstraintsValid && x.IsCA {
			add(trust.KindPathLength, trust.SeverityError, i, who+" is part of a chain longer than a pathLenConstraint allows"+code(bits),
				"the server must use a certificate issued through a shorter chain; the CA issued an intermediate its own constraint does not allow")
		} else {
			add(trust.KindNotACA, trust.SeverityError, i, who+" issues certificates without being a CA (basic constraints)"+code(bits), "the issuer chain is misconfigured on the server")
		}
	}
	if bits&(trustInvalidNameConstraints|trustNameConstraintBits) != 0 {
		add(trust.KindNameConstraints, trust.SeverityError, i, who+" violates its issuer's name constraints"+code(bits), "the CA may not issue for this name")
	}
	if bits&trustHasWeakSignature != 0 {
		add(trust.KindWeakSignature, trust.SeverityError, i, who+" has a weak signature (MD5 or SHA-1)"+code(bits), "reissue the certificate with SHA-256")
	}
	if bits&(trustRevocationStatusUnknown|trustIsOfflineRevocation) != 0 {
		if sev, fix, ok := revocationUnknown(mode); ok {
			add(trust.KindRevocationUnknown, sev, i, "the revocation status of "+who+" could not be checked"+code(bits), fix)
		}
	}
}

// policyKind maps a CERT_CHAIN_POLICY_SSL error; the kind is empty for a
// revocation status that could not be learned when mode is off.
func policyKind(code uint32, name string, mode trust.RevocationMode) (trust.Kind, trust.Severity, string, string) {
	e := func(k trust.Kind, s, f string) (trust.Kind, trust.Severity, string, string) {
		return k, trust.SeverityError, fmt.Sprintf("%s (Windows SSL policy 0x%08X)", s, code), f
	}
	switch code {
	case certECNNoMatch:
		return e(trust.KindNameMismatch, fmt.Sprintf("the certificate is not valid for %q", name),
			fmt.Sprintf("connect with a name the certificate lists, or have it reissued to include %q", name))
	case certEExpired:
		return e(trust.KindExpired, "a certificate in the chain has expired", "renew the certificate on the server")
	case certEUntrustedRoot:
		return e(trust.KindUntrustedRoot, "the chain ends at a root this computer does not trust", "add the issuing CA's certificate to the trusted roots, or install it in the Windows trust store")
	case certEChaining:
		return e(trust.KindMissingIntermediate, "the chain cannot be built to a root", "configure the server to send its intermediate certificates")
	case cryptERevoked:
		return e(trust.KindRevoked, "a certificate in the chain is revoked", "the server must get a new certificate")
	case certEWrongUsage:
		return e(trust.KindWrongUsage, "the certificate is not valid for server authentication", "the server needs a serverAuth certificate")
	case certERole:
		return e(trust.KindNotACA, "a certificate that is not a CA issued another", "the issuer chain is misconfigured on the server")
	case certEInvalidName:
		return e(trust.KindNameConstraints, "a name violates the issuer's name constraints", "the CA may not issue for this name")
	case trustECertSignature:
		return e(trust.KindMalformed, "a signature in the chain does not verify", "inspect the server's certificate chain")
	case cryptENoRevCheck, cryptERevOffline, certERevFailure:
		sev, fix, ok := revocationUnknown(mode)
		if !ok {
			return "", "", "", ""
		}
		return trust.KindRevocationUnknown, sev, fmt.Sprintf("revocation could not be checked (Windows SSL policy 0x%08X)", code), fix
	}
	return e(trust.KindMalformed, "Windows rejected the chain: "+CodeMeaning(code), "inspect the server's certificate chain")
}
