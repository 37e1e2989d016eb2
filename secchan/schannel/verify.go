//go:build windows

package schannel

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/trust"
)

// peerChain returns the certificates the server sent: the remote
// certificate and the others in its store, put in issuing order from the
// leaf (the store does not keep the order they were sent in), then any that
// do not chain.
func peerChain(rc *windows.CertContext) []*x509.Certificate {
	leaf, err := x509.ParseCertificate(bytes.Clone(unsafe.Slice(rc.EncodedCert, rc.Length)))
	if err != nil {
		return nil
	}
	var others []*x509.Certificate
	if rc.Store != 0 {
		var prev *windows.CertContext
		for {
			cur, err := windows.CertEnumCertificatesInStore(rc.Store, prev)
			if err != nil || cur == nil {
				break
			}
			prev = cur
			if x, err := x509.ParseCertificate(bytes.Clone(unsafe.Slice(cur.EncodedCert, cur.Length))); err == nil && !x.Equal(leaf) {
				others = append(others, x)
			}
		}
	}
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(others) > 0; {
		i := -1
		for j, o := range others {
			if bytes.Equal(o.RawSubject, cur.RawIssuer) && !bytes.Equal(cur.RawSubject, cur.RawIssuer) {
				i = j
				break
			}
		}
		if i < 0 {
			break
		}
		cur = others[i]
		chain = append(chain, cur)
		others = append(others[:i], others[i+1:]...)
	}
	return append(chain, others...)
}

// verify decides trust. With roots or pins configured (--ca, --pin) the
// chain goes through package trust, exactly as for the crypto/tls provider,
// its revocation fetches bounded by ctx (the handshake's): they used to
// run without it, 10 s for each URL that never answered, long past the
// caller's timeout. Otherwise Windows decides, through crypt32 (see
// verifySystem).
func (p Provider) verify(ctx context.Context, c *Conn) (trust.Report, error) {
	opts := c.cfg.TrustOptions()
	if len(c.state.OCSPResponse) > 0 && opts.StapledOCSP == nil {
		opts.StapledOCSP = c.state.OCSPResponse
	}
	chain := c.state.PeerCertificates
	if opts.Roots != nil || len(opts.Pins) > 0 || len(chain) == 0 {
		return trust.VerifyContext(ctx, chain, opts), nil
	}
	rc := c.remoteCert()
	if rc == nil {
		return trust.VerifyContext(ctx, nil, opts), nil
	}
	defer windows.CertFreeCertificateContext(rc)
	return verifySystem(p.chainEngine, rc, chain, opts), nil
}

// Chain trust-status error bits (wincrypt.h).
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

	chainRevocationCheckChainExcludeRoot = 0x40000000

	// CertVerifyCertificateChainPolicy results (winerror.h).
	certEExpired        = 0x800B0101
	certERole           = 0x800B0103
	certEUntrustedRoot  = 0x800B0109
	certEChaining       = 0x800B010A
	certECNNoMatch      = 0x800B010F
	certEWrongUsage     = 0x800B0110
	certEInvalidName    = 0x800B0114
	trustECertSignature = 0x80096004
	cryptERevoked       = 0x80092010
	cryptENoRevCheck    = 0x80092012
	cryptERevOffline    = 0x80092013
)

// verifySystem builds the chain with CertGetCertificateChain (the server's
// certificates as the extra store, serverAuth usage), reports every error
// bit itself (Wine's SSL policy accepts a partial chain from an unknown CA,
// so the policy verdict alone is not enough), then runs
// CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL) with the server
// name. Windows codes become the trust kinds the crypto/tls provider uses.
func verifySystem(engine windows.Handle, rc *windows.CertContext, chain []*x509.Certificate, opts trust.Options) trust.Report {
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

	usage := &windows.OID_PKIX_KP_SERVER_AUTH[0]
	para := windows.CertChainPara{Size: uint32(unsafe.Sizeof(windows.CertChainPara{}))}
	para.RequestedUsage.Type = windows.USAGE_MATCH_TYPE_AND
	para.RequestedUsage.Usage.Length = 1
	para.RequestedUsage.Usage.UsageIdentifiers = &usage
	var flags uint32
	if opts.Revocation != trust.RevocationOff {
		flags |= chainRevocationCheckChainExcludeRoot
	}
	var ft *windows.Filetime
	if !opts.Time.IsZero() {
		f := windows.NsecToFiletime(opts.Time.UnixNano())
		ft = &f
	}
	var cc *windows.CertChainContext
	if err := windows.CertGetCertificateChain(engine, rc, ft, rc.Store, &para, flags, 0, &cc); err != nil {
		add(trust.KindMalformed, trust.SeverityError, -1, fmt.Sprintf("Windows could not build a certificate chain: %v", err),
			"inspect the chain with 'tlsmail cert verify'")
		return r
	}
	defer windows.CertFreeCertificateChain(cc)

	// The elements of the best chain, mapped to indexes in chain.
	index := func(ctx *windows.CertContext) int {
		der := unsafe.Slice(ctx.EncodedCert, ctx.Length)
		for i, x := range chain {
			if bytes.Equal(x.Raw, der) {
				return i
			}
		}
		return -1
	}
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	if cc.ChainCount > 0 {
		simple := unsafe.Slice(cc.Chains, cc.ChainCount)[0]
		elems := unsafe.Slice(simple.Elements, simple.NumElements)
		var path []*x509.Certificate
		for n, e := range elems {
			i := index(e.CertContext)
			der := bytes.Clone(unsafe.Slice(e.CertContext.EncodedCert, e.CertContext.Length))
			x, _ := x509.ParseCertificate(der)
			if x != nil {
				path = append(path, x)
			}
			bits := e.TrustStatus.ErrorStatus
			last := n == len(elems)-1
			if last {
				bits |= simple.TrustStatus.ErrorStatus & (trustIsPartialChain | trustIsUntrustedRoot)
			}
			mapBits(bits, i, x, now, last && len(elems) == 1, add)
		}
		if r.OK() {
			r.Path = path
		}
		if len(path) > 0 {
			addLocalChecks(&r, path[len(path)-1], opts, add)
		}
	}
	mapBits(cc.TrustStatus.ErrorStatus&^(trustIsNotTimeValid|trustIsRevoked|trustIsNotSignatureValid|trustIsNotValidForUsage|trustIsPartialChain|trustIsUntrustedRoot|trustIsExplicitDistrust), -1, nil, now, false, func(k trust.Kind, sev trust.Severity, cert int, summary, fix string) {
		if !r.Has(k) {
			add(k, sev, cert, summary, fix)
		}
	})

	name, _ := windows.UTF16PtrFromString(opts.Name)
	extra := windows.SSLExtraCertChainPolicyPara{AuthType: windows.AUTHTYPE_SERVER, ServerName: name}
	extra.Size = uint32(unsafe.Sizeof(extra))
	pp := windows.CertChainPolicyPara{ExtraPolicyPara: (windows.Pointer)(unsafe.Pointer(&extra))}
	pp.Size = uint32(unsafe.Sizeof(pp))
	if opts.Name == "" {
		pp.ExtraPolicyPara = nil
	}
	var ps windows.CertChainPolicyStatus
	ps.Size = uint32(unsafe.Sizeof(ps))
	if err := windows.CertVerifyCertificateChainPolicy(windows.CERT_CHAIN_POLICY_SSL, cc, &pp, &ps); err == nil && ps.Error != 0 {
		k, sev, summary, fix := policyKind(ps.Error, opts.Name)
		if !r.Has(k) {
			cert := -1
			if k == trust.KindNameMismatch {
				cert = 0
			}
			add(k, sev, cert, summary, fix)
		}
	}
	sortErrorsFirst(r.Problems)
	return r
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

// addLocalChecks runs package trust over chain anchored at top, the last
// certificate of the path crypt32 built (trusted or not: crypt32 has judged
// the root), and adds the problems of localKinds Windows did not report.
// Verification is thereby never weaker than the crypto/tls provider's for
// these kinds, whatever the machine's policy.
func addLocalChecks(r *trust.Report, top *x509.Certificate, opts trust.Options, add addFunc) {
	pool := x509.NewCertPool()
	pool.AddCert(top)
	lo := opts
	lo.Roots, lo.Name, lo.Pins, lo.Revocation, lo.StapledOCSP = pool, "", nil, trust.RevocationOff, nil
	lr := trust.Verify(r.Chain, lo)
	if lr.Anchor != nil {
		r.Anchor = lr.Anchor
	}
	for _, p := range lr.Problems {
		if localKinds[p.Kind] && !r.Has(p.Kind) {
			add(p.Kind, p.Severity, p.Cert, p.Summary, p.Fix)
		}
	}
}

func sortErrorsFirst(ps []trust.Problem) {
	var errs, warns []trust.Problem
	for _, p := range ps {
		if p.Severity == trust.SeverityError {
			errs = append(errs, p)
		} else {
			warns = append(warns, p)
		}
	}
	copy(ps, append(errs, warns...))
}

type addFunc func(k trust.Kind, sev trust.Severity, cert int, summary, fix string)

// mapBits turns CERT_TRUST_* error bits of one chain element into problems.
func mapBits(bits uint32, i int, x *x509.Certificate, now time.Time, lone bool, add addFunc) {
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
		add(trust.KindMalformed, trust.SeverityError, i, who+" has a signature that does not verify"+code(bits), "the chain is corrupt or forged; inspect it with 'tlsmail cert verify'")
	}
	if bits&trustIsNotValidForUsage != 0 {
		add(trust.KindWrongUsage, trust.SeverityError, i, who+" is not valid for server authentication"+code(bits),
			"the server needs a certificate with the serverAuth extended key usage")
	}
	if bits&(trustIsUntrustedRoot|trustIsExplicitDistrust) != 0 {
		if lone && x != nil && bytes.Equal(x.RawIssuer, x.RawSubject) && !x.IsCA {
			add(trust.KindSelfSigned, trust.SeverityError, i, who+" is self-signed", "use a certificate from a CA, or pass this certificate with --ca if you trust it")
		} else {
			add(trust.KindUntrustedRoot, trust.SeverityError, i, who+" is not issued by a CA this computer trusts"+code(bits),
				"pass the issuing CA with --ca, install it in the Windows trust store, or have the server use a publicly trusted CA")
		}
	}
	if bits&trustIsPartialChain != 0 {
		// Windows cannot tell a missing intermediate from an unknown root:
		// either way the chain stops at a certificate whose issuer it lacks.
		// When that certificate is a CA the server did send its
		// intermediates and the root is what is unknown.
		if x != nil && x.IsCA {
			add(trust.KindUntrustedRoot, trust.SeverityError, i, who+" is issued by "+fmt.Sprintf("%q", x.Issuer.CommonName)+", a CA this computer does not know"+code(bits),
				"pass the issuing CA with --ca, install it in the Windows trust store, or have the server use a publicly trusted CA")
		} else {
			add(trust.KindMissingIntermediate, trust.SeverityError, i, "the chain ends at "+who+", whose issuer is not available"+code(bits),
				"configure the server to send the intermediate certificates along with its own")
		}
	}
	if bits&(trustIsCyclic|trustInvalidExtension|trustInvalidPolicyConstr) != 0 {
		add(trust.KindMalformed, trust.SeverityError, i, who+" has invalid extensions or a cyclic chain"+code(bits), "inspect the chain with 'tlsmail cert verify'")
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
		add(trust.KindRevocationUnknown, trust.SeverityWarning, i, "the revocation status of "+who+" could not be checked"+code(bits), "check that this computer can reach the CA's CRL or OCSP server")
	}
}

// policyKind maps a CERT_CHAIN_POLICY_SSL error.
func policyKind(code uint32, name string) (trust.Kind, trust.Severity, string, string) {
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
		return e(trust.KindUntrustedRoot, "the chain ends at a root this computer does not trust", "pass the issuing CA with --ca or install it in the Windows trust store")
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
		return e(trust.KindMalformed, "a signature in the chain does not verify", "inspect the chain with 'tlsmail cert verify'")
	case cryptENoRevCheck, cryptERevOffline:
		return trust.KindRevocationUnknown, trust.SeverityWarning, fmt.Sprintf("revocation could not be checked (Windows SSL policy 0x%08X)", code), "check that this computer can reach the CA's CRL or OCSP server"
	}
	return e(trust.KindMalformed, "Windows rejected the chain: "+CodeMeaning(code), "inspect the chain with 'tlsmail cert verify'")
}
