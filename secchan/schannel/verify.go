//go:build windows

package schannel

import (
	"bytes"
	"context"
	"crypto/x509"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// peerChain returns the certificates the server sent: the remote
// certificate and the others in its store, put in issuing order from the
// leaf (the store does not keep the order they were sent in), then any that
// do not chain.
func peerChain(rc *windows.CertContext) []*x509.Certificate {
	der := rawPeerCerts(rc)
	leaf, err := x509.ParseCertificate(der[0])
	if err != nil {
		return nil
	}
	var others []*x509.Certificate
	for _, d := range der[1:] {
		if x, err := x509.ParseCertificate(d); err == nil {
			others = append(others, x)
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

// rawPeerCerts returns the DER of the remote certificate and of the others
// in its store, leaf first, unparsed: what peerChain orders, and what verify
// hands to trust.VerifyDER when crypto/x509 cannot parse the leaf.
func rawPeerCerts(rc *windows.CertContext) [][]byte {
	leaf := bytes.Clone(unsafe.Slice(rc.EncodedCert, rc.Length))
	der := [][]byte{leaf}
	if rc.Store != 0 {
		var prev *windows.CertContext
		for {
			cur, err := windows.CertEnumCertificatesInStore(rc.Store, prev)
			if err != nil || cur == nil {
				break
			}
			prev = cur
			if d := unsafe.Slice(cur.EncodedCert, cur.Length); !bytes.Equal(d, leaf) {
				der = append(der, bytes.Clone(d))
			}
		}
	}
	return der
}

// verify decides trust. With roots or pins configured (--ca, --pin) the
// chain goes through package trust, exactly as for the crypto/tls provider.
// Otherwise Windows decides, through crypt32 (see querySystem and
// decideSystem). The revocation fetches get their share of ctx's time
// either way (secchan.RevocationBudget): package trust's through
// secchan.RevocationContext, crypt32's through revocationTimeout.
func (p Provider) verify(ctx context.Context, c *Conn) (trust.Report, error) {
	opts := c.cfg.TrustOptions()
	if len(c.state.OCSPResponse) > 0 && opts.StapledOCSP == nil {
		opts.StapledOCSP = c.state.OCSPResponse
	}
	chain := c.state.PeerCertificates
	// Package trust's fetches; crypt32's are bounded by revocationTimeout.
	vctx, cancel := secchan.RevocationContext(ctx)
	defer cancel()
	if len(chain) == 0 && len(c.peerDER) > 0 {
		// The server's certificate could not be parsed: a certificate
		// problem (unparseable-certificate), named as the crypto/tls
		// provider names it, whoever would have judged the chain.
		return trust.VerifyDER(vctx, c.peerDER, opts), nil
	}
	if opts.Roots != nil || len(opts.Pins) > 0 || len(chain) == 0 {
		return trust.VerifyContext(vctx, chain, opts), nil
	}
	rc := c.remoteCert()
	if rc == nil {
		return trust.VerifyContext(vctx, nil, opts), nil
	}
	res, err := querySystem(ctx, p.chainEngine, rc, chain, opts)
	if err != nil {
		return trust.Report{}, &secchan.HandshakeError{Provider: "schannel",
			Reason: "timed out or cancelled while Windows checked the server's certificate chain (revocation: CRL and OCSP fetches): " + err.Error(),
			Fix:    "check that this computer can reach the CA's CRL and OCSP servers (plain http, port 80), allow more time, or turn revocation checking off",
			Err:    err}
	}
	return decideSystem(res, chain, opts), nil
}

// querySystem asks crypt32 about the server's chain (see buildSystem) and
// returns the answer as plain data. It takes rc over.
//
// CertGetCertificateChain cannot be cancelled, and with revocation checking
// it fetches CRLs and OCSP responses (by default up to 15 seconds per URL).
// It is bounded twice: the fetches by CERT_CHAIN_PARA.dwUrlRetrievalTimeout
// with CERT_CHAIN_REVOCATION_ACCUMULATIVE_TIMEOUT, set to the revocation
// share of what is left of ctx's deadline (revocationTimeout,
// secchan.RevocationBudget); and the wait, by ctx
// itself: when ctx ends first, querySystem returns ctx's error at once and
// leaves the call to finish on its own goroutine, which then frees
// everything it holds (the chain context and rc). On Windows that goroutine
// lives at most until the fetch budget is spent, plus Windows' own
// overhead; Wine does not honour the budget (see the package's Wine notes).
// The engine must outlive the call: the default engine (0) always does.
func querySystem(ctx context.Context, engine windows.Handle, rc *windows.CertContext, chain []*x509.Certificate, opts trust.Options) (systemResult, error) {
	if err := ctx.Err(); err != nil {
		windows.CertFreeCertificateContext(rc)
		return systemResult{}, err
	}
	var perFetch time.Duration
	if opts.Checker != nil {
		perFetch = opts.Checker.Timeout
	}
	deadline, _ := ctx.Deadline()
	timeout := revocationTimeout(time.Now(), deadline, perFetch)
	done := make(chan systemResult, 1)
	go func() {
		defer windows.CertFreeCertificateContext(rc)
		done <- buildSystem(engine, rc, chain, opts, timeout)
	}()
	select {
	case res := <-done:
		return res, nil
	case <-ctx.Done():
		return systemResult{}, ctx.Err()
	}
}

// buildSystem builds the chain with CertGetCertificateChain (the server's
// certificates as the extra store, serverAuth usage, revocation as opts
// says with timeoutMS for all fetches together), reads out every element
// with its CERT_TRUST_* bits, then runs CertVerifyCertificateChainPolicy
// (CERT_CHAIN_POLICY_SSL) twice with the server name: once with every check
// on, once checking the name alone (nameOnlyChecks, nameOnlyPolicyFlags);
// an IP address is not given to the policy (see windowsServerName).
func buildSystem(engine windows.Handle, rc *windows.CertContext, chain []*x509.Certificate, opts trust.Options, timeoutMS uint32) systemResult {
	var res systemResult
	usage := &windows.OID_PKIX_KP_SERVER_AUTH[0]
	para := windows.CertChainPara{Size: uint32(unsafe.Sizeof(windows.CertChainPara{}))}
	para.RequestedUsage.Type = windows.USAGE_MATCH_TYPE_AND
	para.RequestedUsage.Usage.Length = 1
	para.RequestedUsage.Usage.UsageIdentifiers = &usage
	var flags uint32
	if opts.Revocation != trust.RevocationOff {
		flags |= chainRevocationCheckChainExcludeRoot | chainRevocationAccumulativeTimeout
		para.URLRetrievalTimeout = timeoutMS
	}
	var ft *windows.Filetime
	if !opts.Time.IsZero() {
		f := windows.NsecToFiletime(opts.Time.UnixNano())
		ft = &f
	}
	var cc *windows.CertChainContext
	if err := windows.CertGetCertificateChain(engine, rc, ft, rc.Store, &para, flags, 0, &cc); err != nil {
		res.BuildErr = err
		return res
	}
	defer windows.CertFreeCertificateChain(cc)

	// The elements of the best chain, mapped to indexes in chain.
	index := func(der []byte) int {
		for i, x := range chain {
			if bytes.Equal(x.Raw, der) {
				return i
			}
		}
		return -1
	}
	res.ChainStatus = cc.TrustStatus.ErrorStatus
	if cc.ChainCount > 0 {
		simple := unsafe.Slice(cc.Chains, cc.ChainCount)[0]
		res.SimpleStatus = simple.TrustStatus.ErrorStatus
		for _, e := range unsafe.Slice(simple.Elements, simple.NumElements) {
			der := bytes.Clone(unsafe.Slice(e.CertContext.EncodedCert, e.CertContext.Length))
			x, _ := x509.ParseCertificate(der)
			res.Elements = append(res.Elements, chainElement{Cert: x, Index: index(der), Status: e.TrustStatus.ErrorStatus})
		}
	}
	name := windowsServerName(opts.Name)
	res.Policy = sslPolicy(cc, name, 0, 0)
	if name != "" {
		res.NamePolicy = sslPolicy(cc, name, nameOnlyChecks, nameOnlyPolicyFlags)
	}
	return res
}

// sslPolicy runs CERT_CHAIN_POLICY_SSL over cc for a server called name
// (none: no name check), with checks
// (SSL_EXTRA_CERT_CHAIN_POLICY_PARA.fdwChecks) and flags
// (CERT_CHAIN_POLICY_PARA.dwFlags) switching checks off.
func sslPolicy(cc *windows.CertChainContext, name string, checks, flags uint32) policyResult {
	pp := windows.CertChainPolicyPara{Flags: flags}
	pp.Size = uint32(unsafe.Sizeof(pp))
	if name != "" {
		wname, err := windows.UTF16PtrFromString(name)
		if err != nil {
			return policyResult{Err: err}
		}
		extra := windows.SSLExtraCertChainPolicyPara{AuthType: windows.AUTHTYPE_SERVER, Checks: checks, ServerName: wname}
		extra.Size = uint32(unsafe.Sizeof(extra))
		pp.ExtraPolicyPara = (windows.Pointer)(unsafe.Pointer(&extra))
	}
	var ps windows.CertChainPolicyStatus
	ps.Size = uint32(unsafe.Sizeof(ps))
	if err := windows.CertVerifyCertificateChainPolicy(windows.CERT_CHAIN_POLICY_SSL, cc, &pp, &ps); err != nil {
		return policyResult{Err: err}
	}
	return policyResult{Status: ps.Error}
}
