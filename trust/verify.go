package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

// Verify checks chain (leaf first, then the intermediates as sent) against
// opts and reports every problem found. It is VerifyContext with a
// background context: revocation fetches are still bounded by the
// Checker's timeout.
func Verify(chain []*x509.Certificate, opts Options) Report {
	return VerifyContext(context.Background(), chain, opts)
}

// VerifyContext checks chain (leaf first, then the intermediates as sent)
// against opts and reports every problem found, not only the first.
//
// crypto/x509 builds and checks the path (RFC 5280, section 6); the
// diagnosis then walks the path the server sent, certificate by
// certificate, to say what is wrong and where: validity dates (RFC 5280,
// 4.1.2.5), the name (RFC 6125, 6.4), basic constraints and path length
// (4.2.1.9), key usage (4.2.1.3, 4.2.1.12), name constraints (4.2.1.10),
// signature and key strength, SPKI pins (RFC 7469, 2.4) and revocation
// (RFC 6960 OCSP, RFC 5280 section 5 CRLs; fetched only for a path that
// ends in a trusted root: an untrusted chain's URLs are its server's
// choice). ctx bounds the revocation fetches.
//
// Whenever crypto/x509 rejects the chain for the given roots, name and
// time, the Report has at least one error-level problem; when the Report
// has none, crypto/x509 accepts the chain.
func VerifyContext(ctx context.Context, chain []*x509.Certificate, opts Options) Report {
	if opts.Cache != nil {
		return opts.Cache.verify(ctx, chain, opts)
	}
	return verify(ctx, chain, opts, nil)
}

// verify runs the verifier; unparsed holds the parse errors of the
// certificates that are nil in chain.
func verify(ctx context.Context, chain []*x509.Certificate, opts Options, unparsed map[int]error) Report {
	if unparsed == nil {
		// System roots: parse only the roots that can anchor this chain
		// (roots.go); anything but a trusted verdict is verified again
		// against the whole pool, so that the diagnosis is unchanged.
		if r, ok := verifyRootsOnDemand(ctx, chain, opts); ok {
			return r
		}
	}
	v := &verifier{ctx: ctx, opts: opts, now: opts.now(), r: Report{Chain: chain}, unparsed: unparsed}
	v.run()
	SortProblems(v.r.Problems)
	return v.r
}

// VerifyDER is VerifyContext for the certificates as they came off the
// wire or out of a file: DER, leaf first. A certificate crypto/x509 cannot
// parse is not a damaged input but a certificate problem: the report names
// it (KindUnparseable, with the parser's complaint) and the rest of the
// chain is verified as usual, so the report also says what else is wrong.
// Report.Chain holds nil at the place of each certificate that could not
// be parsed.
func VerifyDER(ctx context.Context, der [][]byte, opts Options) Report {
	chain := make([]*x509.Certificate, len(der))
	var bad map[int]error
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		chain[i] = c
	}
	if bad == nil {
		return VerifyContext(ctx, chain, opts)
	}
	// Not cached: the cache keys on parsed certificates.
	return verify(ctx, chain, opts, bad)
}

// UnparseableProblem is the problem of certificate idx (-1: one of the
// chain, which one is not known) that crypto/x509 could not parse, err
// being the parser's complaint. A TLS stack that parses the chain before
// handing it over (crypto/tls does) reports it this way.
func UnparseableProblem(idx int, err error) Problem {
	who := "a certificate the server sent"
	switch {
	case idx == 0:
		who = "certificate 0 (the server's certificate)"
	case idx > 0:
		who = fmt.Sprintf("certificate %d", idx)
	}
	return Problem{Kind: KindUnparseable, Severity: SeverityError, Cert: idx,
		Summary: safetext.Quote(fmt.Sprintf("%s cannot be parsed, so it cannot be verified: %v", who, err)),
		Fix: "the certificate breaks the X.509 encoding rules (RFC 5280, section 4) where the message says; " +
			"have it reissued with well-formed fields: strict clients refuse it, and this refusal cannot be overridden"}
}

type verifier struct {
	ctx  context.Context
	opts Options
	now  time.Time
	r    Report
	// certs is the chain followed by the anchor, if any.
	certs []*x509.Certificate
	// path indexes certs, leaf first.
	path []int
	// x509err is crypto/x509's verdict on the chain, name included.
	x509err error
	// anchorHint is why a trusted root with the right name was rejected.
	anchorHint string
	// noSystemRoots is set when the system has no roots to trust.
	noSystemRoots bool
	// unparsed holds why each nil certificate of the chain could not be
	// parsed (VerifyDER).
	unparsed map[int]error
}

// add records a problem. Summaries, fixes and subjects quote names the
// peer chose, and they end up on terminals and in logs: their control
// characters are escaped (safetext.Quote).
func (v *verifier) add(kind Kind, sev Severity, idx int, summary, fix string) {
	p := Problem{Kind: kind, Severity: sev, Cert: idx, Summary: safetext.Quote(summary), Fix: safetext.Quote(fix)}
	if idx >= 0 && idx < len(v.certs) && v.certs[idx] != nil {
		p.Subject = safetext.Quote(subjectOf(v.certs[idx]))
	}
	v.r.Problems = append(v.r.Problems, p)
}

func (v *verifier) has(kind Kind, idx int) bool {
	for _, p := range v.r.Problems {
		if p.Kind == kind && p.Cert == idx {
			return true
		}
	}
	return false
}

func (v *verifier) hasError(idx int) bool {
	for _, p := range v.r.Problems {
		if p.Cert == idx && p.Severity == SeverityError {
			return true
		}
	}
	return false
}

func (v *verifier) run() {
	chain := v.r.Chain
	v.certs = chain
	if len(chain) == 0 {
		v.add(KindNoCertificate, SeverityError, -1, "the server sent no certificate",
			"configure the server with a certificate and its private key")
		return
	}
	intermediates := x509.NewCertPool()
	for i, c := range chain {
		if err := v.unparsed[i]; err != nil {
			v.r.Problems = append(v.r.Problems, UnparseableProblem(i, err))
			continue
		}
		if c == nil || len(c.Raw) == 0 {
			v.add(KindMalformed, SeverityError, i, fmt.Sprintf("certificate %d is empty or was not parsed", i), // no subject to name it by
				"the server must send DER-encoded X.509 certificates; check its certificate file")
			continue
		}
		if i > 0 {
			intermediates.AddCert(c)
		}
	}
	leaf := chain[0]
	if leaf == nil || len(leaf.Raw) == 0 {
		return
	}

	// crypto/x509's verdict, with and without the name: the path comes from
	// the second, the name is diagnosed on its own.
	vo := x509.VerifyOptions{Roots: v.opts.Roots, Intermediates: intermediates, CurrentTime: v.now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	paths, chainErr := leaf.Verify(vo)
	v.x509err = chainErr
	if chainErr == nil && v.opts.Name != "" {
		v.x509err = leaf.VerifyHostname(v.opts.Name)
	}
	if chainErr == nil {
		v.usePath(paths)
		v.r.Trusted = true
		v.r.Path = paths[0]
	} else {
		v.buildPath()
	}
	v.r.PathIndex = v.path

	v.checkCerts()
	v.checkTrust()
	v.checkName()
	v.checkPins()
	v.checkCRLs()
	v.checkRevocation()

	if v.x509err != nil && v.r.OK() {
		v.r.unexplained = true
		v.add(classify(v.x509err), SeverityError, 0, "crypto/x509 rejected the chain: "+v.x509err.Error(),
			"inspect the server's certificate chain and compare the verdict with 'openssl verify'")
	}
}

// usePath adopts the best of crypto/x509's verified paths: the one that
// uses the most certificates the server sent.
func (v *verifier) usePath(paths [][]*x509.Certificate) {
	best, bestSent := 0, -1
	for i, p := range paths {
		sent := 0
		for _, c := range p {
			if v.index(c) >= 0 {
				sent++
			}
		}
		if sent > bestSent {
			best, bestSent = i, sent
		}
	}
	paths[0], paths[best] = paths[best], paths[0]
	for _, c := range paths[0] {
		i := v.index(c)
		if i < 0 {
			v.setAnchor(c)
			i = len(v.certs) - 1
		}
		v.path = append(v.path, i)
	}
}

func (v *verifier) setAnchor(c *x509.Certificate) {
	v.r.Anchor = c
	v.certs = v.r.Certificates()
}

// index returns c's position in the chain as sent, or -1.
func (v *verifier) index(c *x509.Certificate) int {
	for i, s := range v.r.Chain {
		if s != nil && s.Equal(c) {
			return i
		}
	}
	return -1
}

// maxPathSearch and maxSignatureChecks bound the path search (the
// certificates it visits, the signatures it checks), so that a hostile
// chain of many cross-signed certificates with one name cannot make it run
// long; crypto/x509 bounds its own search likewise.
const (
	maxPathSearch      = 64
	maxSignatureChecks = 256
)

// buildPath chooses the path the diagnosis walks when crypto/x509 found
// none. It follows issuer names and signatures through the certificates
// the server sent, from the leaf up, without crypto/x509's policy checks,
// so that the diagnosis sees every certificate that was meant to be used.
// Where several certificates could issue the next one (cross-certificates,
// RFC 4158 section 2.4), each branch is tried: the first path that reaches
// a trusted root is the one to diagnose, and the per-certificate checks
// then name why crypto/x509 refused it (an expired or weakly signed
// intermediate, a CA certificate that is not one, an extended key usage or
// a name constraint that forbids the leaf). When no path reaches a trusted
// root, the first complete path is diagnosed, and checkTrust says where it
// ends; a path whose top a trusted root was considered for, and rejected
// (it signed with SHA-1, say), is preferred to any other, as the one the
// server meant.
func (v *verifier) buildPath() {
	s := &pathSearch{v: v, signed: map[[2]int]bool{}, anchors: map[int]anchorCheck{}}
	s.walk([]int{0})
	if s.anchored != nil {
		v.path = s.anchored
		v.useAnchor(s.anchors[v.path[len(v.path)-1]])
		return
	}
	if s.first == nil { // cannot happen: a search that finds no anchor ends somewhere
		s.first = []int{0}
	}
	v.path = s.first
	if s.hinted != nil {
		v.path = s.hinted
	}
	top := v.path[len(v.path)-1]
	v.anchorHint = s.anchors[top].hint
	if bad := s.firstBadSig; bad >= 0 && s.hinted == nil {
		v.add(KindMalformed, SeverityError, top,
			fmt.Sprintf("the signature on %s does not verify with the key of %s, although that certificate has the issuer's name",
				v.certName(top, ""), v.certName(bad, subjectOf(v.r.Chain[bad]))),
			"the chain mixes certificates from different CAs with the same name, or a certificate was altered; install the intermediate the CA issued with this certificate")
	}
}

// pathSearch is the depth-first search of buildPath.
type pathSearch struct {
	v *verifier
	// visits counts the certificates visited (bounded by maxPathSearch).
	visits int
	// signed caches whether chain[k[0]] is signed by chain[k[1]].
	signed  map[[2]int]bool
	anchors map[int]anchorCheck
	// anchored is the first path found that reaches a trusted root.
	anchored []int
	// hinted is the first path whose top a trusted root was considered
	// for and rejected.
	hinted []int
	// first is the first complete path (one that cannot be extended),
	// and firstBadSig a certificate with its top's issuer name whose
	// signature did not verify (-1: none).
	first       []int
	firstBadSig int
}

// walk extends path (indices into the chain, leaf first) by every
// certificate that issued its top, and reports whether a path to a
// trusted root was found.
func (s *pathSearch) walk(path []int) bool {
	s.visits++
	chain := s.v.r.Chain
	cur := path[len(path)-1]
	switch a := s.anchor(cur); {
	case a.ok:
		s.anchored = slices.Clone(path)
		return true
	case a.hint != "" && s.hinted == nil:
		s.hinted = slices.Clone(path)
	}
	c := chain[cur]
	extended, badSig := false, -1
	for j, p := range chain {
		if selfSigned(c) || s.visits >= maxPathSearch {
			break
		}
		if slices.Contains(path, j) || p == nil || len(p.Raw) == 0 || !bytes.Equal(c.RawIssuer, p.RawSubject) {
			continue
		}
		if len(c.AuthorityKeyId) > 0 && len(p.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, p.SubjectKeyId) {
			continue
		}
		k := [2]int{cur, j}
		ok, seen := s.signed[k]
		if !seen {
			if len(s.signed) >= maxSignatureChecks {
				break
			}
			ok = signedBy(c, p) == nil
			s.signed[k] = ok
		}
		if !ok {
			if badSig < 0 {
				badSig = j
			}
			continue
		}
		extended = true
		if s.walk(append(slices.Clip(path), j)) {
			return true
		}
	}
	if !extended && s.first == nil {
		s.first, s.firstBadSig = slices.Clone(path), badSig
	}
	return false
}

// anchorCheck is what anchor learnt of one certificate of the chain.
type anchorCheck struct {
	// ok: the certificate is, or is issued by, a trusted root.
	ok bool
	// root is that root, when it is not the certificate itself.
	root *x509.Certificate
	// hint is why a trusted root with the right name was rejected.
	hint string
}

// anchor asks crypto/x509 whether chain[idx] is, or is issued by, a
// trusted root. The question is asked of a copy of the certificate whose
// validity dates and unhandled critical extensions are neutralised (its
// signature covers the raw bytes, which are unchanged): those problems are
// diagnosed on their own. Should the root itself be out of date now, times
// within the certificate's validity are tried too.
func (s *pathSearch) anchor(idx int) anchorCheck {
	if a, ok := s.anchors[idx]; ok {
		return a
	}
	var a anchorCheck
	defer func() { s.anchors[idx] = a }()
	if s.v.noSystemRoots {
		return a
	}
	orig := s.v.r.Chain[idx]
	c := *orig
	c.UnhandledCriticalExtensions = nil
	c.NotBefore, c.NotAfter = time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	mid := orig.NotBefore.Add(orig.NotAfter.Sub(orig.NotBefore) / 2)
	times := []time.Time{s.v.now, orig.NotBefore.Add(time.Second), mid, orig.NotAfter.Add(-time.Second)}
	for _, t := range times {
		paths, err := c.Verify(x509.VerifyOptions{Roots: s.v.opts.Roots, CurrentTime: t,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err == nil {
			a.ok = true
			if p := paths[0]; len(p) > 1 {
				a.root = p[len(p)-1]
			}
			return a
		}
		var sre x509.SystemRootsError
		if errors.As(err, &sre) {
			s.v.noSystemRoots = true
			return a
		}
		msg := err.Error()
		i := strings.Index(msg, "possibly because of")
		if i < 0 {
			// No trusted root has the issuer's name: another time
			// changes nothing.
			return a
		}
		if a.hint == "" {
			a.hint = strings.TrimSuffix(strings.TrimPrefix(msg[i:], "possibly because of "), ")")
		}
	}
	return a
}

// useAnchor completes v.path, which reaches a trusted root, with that root.
func (v *verifier) useAnchor(a anchorCheck) {
	v.r.Trusted = true
	if a.root == nil {
		return
	}
	if i := v.index(a.root); i >= 0 {
		v.path = append(v.path, i)
	} else {
		v.setAnchor(a.root)
		v.path = append(v.path, len(v.certs)-1)
	}
}

// checkTrust explains a path that does not reach a trusted root.
func (v *verifier) checkTrust() {
	if v.r.Trusted {
		return
	}
	topIdx := v.path[len(v.path)-1]
	top := v.certs[topIdx]
	if v.anchorHint != "" && v.hasError(topIdx) {
		// A trusted root was found but rejected top for a reason the
		// per-certificate checks report (weak signature, expiry...).
		return
	}
	hint := ""
	if v.anchorHint != "" {
		hint = fmt.Sprintf(" (a trusted root was considered but rejected: %s)", v.anchorHint)
	}
	roots := "the system's trusted roots"
	if v.noSystemRoots {
		roots = "the system's trusted roots (none were found on this machine: install ca-certificates or give the CA certificate)"
	}
	if v.opts.Roots != nil {
		roots = "the trusted roots given"
	}
	switch {
	case selfSigned(top) && len(v.path) == 1:
		v.add(KindSelfSigned, SeverityError, topIdx,
			fmt.Sprintf("%s is self-signed and is not among %s%s", v.certName(topIdx, subjectOf(top)), roots, hint),
			fmt.Sprintf("give the server a certificate from a CA the clients trust; to trust this one server anyway, add its certificate to the trusted roots or pin its key, %s", SPKIPin(top)))
	case selfSigned(top):
		v.add(KindUntrustedRoot, SeverityError, topIdx,
			fmt.Sprintf("the chain ends at the root %s, which is not among %s%s", subjectOf(top), roots, hint),
			fmt.Sprintf("if %s is your organisation's CA, add its certificate to the trusted roots; otherwise the server needs a certificate from a publicly trusted CA", subjectOf(top)))
	case len(v.path) == 1:
		what := "the server sent only its own certificate"
		if len(v.r.Chain) > 1 {
			what = "the chain as sent does not contain the certificate's issuer"
		}
		aia := ""
		if len(top.IssuingCertificateURL) > 0 {
			aia = fmt.Sprintf(" (the issuer's certificate is published at %s)", top.IssuingCertificateURL[0])
		}
		v.add(KindMissingIntermediate, SeverityError, topIdx,
			fmt.Sprintf("%s: its issuer %q is neither in the chain nor among %s%s%s", what, issuerOf(top), roots, aia, hint),
			fmt.Sprintf("configure the server to send the full chain, its certificate followed by the intermediates (fullchain.pem, not cert.pem); if %q is a private CA, add its certificate to the trusted roots", issuerOf(top)))
	default:
		v.add(KindUntrustedRoot, SeverityError, topIdx,
			fmt.Sprintf("the chain ends at %s, issued by %q, which is neither in the chain nor among %s%s", subjectOf(top), issuerOf(top), roots, hint),
			fmt.Sprintf("if %q is your organisation's root CA, add its certificate to the trusted roots; if it is another intermediate, the server must send it too", issuerOf(top)))
	}
}

// classify maps a crypto/x509 error to the closest Kind.
func classify(err error) Kind {
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var ia x509.InsecureAlgorithmError
	var cv x509.ConstraintViolationError
	switch {
	case errors.As(err, &hn):
		return KindNameMismatch
	case errors.As(err, &ua):
		return KindUntrustedRoot
	case errors.As(err, &ia):
		return KindWeakSignature
	case errors.As(err, &cv):
		return KindNotACA
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			return KindExpired
		case x509.NotAuthorizedToSign, x509.CANotAuthorizedForExtKeyUsage:
			return KindNotACA
		case x509.TooManyIntermediates:
			return KindPathLength
		case x509.CANotAuthorizedForThisName:
			return KindNameConstraints
		case x509.IncompatibleUsage:
			return KindWrongUsage
		}
	}
	return KindMalformed
}
