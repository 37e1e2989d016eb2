package trust

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationStatus is the outcome of a revocation check.
type RevocationStatus string

const (
	StatusGood    RevocationStatus = "good"
	StatusRevoked RevocationStatus = "revoked"
	StatusUnknown RevocationStatus = "unknown"
)

// RevocationResult is the revocation status of one certificate.
type RevocationResult struct {
	// Cert indexes Report.Certificates().
	Cert   int              `json:"certificate"`
	Status RevocationStatus `json:"status"`
	// Source says where the answer came from: "stapled OCSP", "OCSP URL",
	// "CRL URL"; empty when no source answered.
	Source    string    `json:"source,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// Detail says why the status is unknown, or what each failed source
	// said before one answered.
	Detail string `json:"detail,omitempty"`
}

// Default limits of a Checker.
const (
	DefaultFetchTimeout = 10 * time.Second
	DefaultMaxFetchSize = 20 << 20
	// failureTTL is how long a failed fetch is remembered (in memory and
	// in the on-disk cache), so that a batch of connections, or every
	// `tlsmail send` of the next minutes, does not wait on the same dead
	// URL again and again.
	failureTTL = 5 * time.Minute
	// maxCacheAge bounds how long a CRL or OCSP response without a
	// nextUpdate is reused.
	maxCacheAge = time.Hour
	// noNextUpdateLife is how long after its thisUpdate a CRL or OCSP
	// response without a nextUpdate is taken as current. Such an answer
	// says that newer information is available at any time (RFC 6960
	// section 4.2.2.1; RFC 5280 section 5.1.2.5 requires a nextUpdate), so
	// an old one, replayed by whoever sits on the plain-http path, must
	// not pass for today's status. A day, as Firefox's mozilla::pkix
	// allows.
	noNextUpdateLife = 24 * time.Hour
	// maxURLsPerKind bounds the CRL URLs, and the OCSP URLs, tried for one
	// certificate: each may take the whole Timeout, and a certificate (so
	// whoever made it) may list any number.
	maxURLsPerKind = 3
)

// Checker fetches CRLs (RFC 5280, section 5) and OCSP responses (RFC 6960,
// appendix A.1, HTTP POST) with a timeout and caches them until their
// nextUpdate: in memory, and in an on-disk cache that the user's other
// processes share (CacheDir). The zero value is ready to use; a Checker is
// safe for concurrent use and must not be copied after first use.
//
// An answer read from the disk cache is untrusted input: it is parsed and
// authenticated again (issuer, signature, the certificate asked about) on
// every use, exactly as one from the network, and reused only until its
// own nextUpdate (at most an hour when it names none, at most 7 days in
// any case). A failed fetch is remembered for 5 minutes. Files that
// another user owns, that group or others may write, or that are symbolic
// links, are ignored, and so is the whole cache when its directory is
// such.
//
// The built-in HTTP/1.1 client fetches http:// URLs only (revocation data
// is signed, and fetching it over TLS would need a revocation check of its
// own), follows up to five redirects, and goes through the proxy named by
// http_proxy or HTTP_PROXY unless no_proxy or NO_PROXY exempts the host,
// as curl does.
type Checker struct {
	// Fetch, if set, replaces the built-in HTTP client, for a program that
	// wants its own HTTP stack (say, net/http with a custom transport).
	// nil uses the built-in client.
	Fetch FetchFunc
	// Timeout bounds each fetch; zero means DefaultFetchTimeout. The
	// sources of one certificate are asked at once, so this is also the
	// time budget of a certificate's check.
	Timeout time.Duration
	// MaxSize bounds a fetched body; zero means DefaultMaxFetchSize.
	MaxSize int64
	// CacheDir is the directory of the on-disk cache; empty means
	// DefaultRevocationCacheDir().
	CacheDir string
	// NoDiskCache keeps answers in this Checker's memory only.
	NoDiskCache bool
	// CacheEntries and CacheBytes bound the on-disk cache; zero means
	// DefaultCacheEntries and DefaultCacheBytes. The oldest files go
	// first.
	CacheEntries int
	CacheBytes   int64

	diskOnce sync.Once
	disk     *diskCache // nil when off or unusable
	// diskErr is why the cache directory was refused (DiskCacheError);
	// set once, by diskCache, and read by any goroutine.
	diskErr atomic.Pointer[CacheDirError]

	mu       sync.Mutex
	cache    map[string]*fetched
	memBytes int // the answers' bytes in cache
	// now is the clock of the caches (tests move it); nil is time.Now.
	now func() time.Time
}

// defaultChecker is the Checker of every verification whose Options name
// none (see DefaultChecker), so that the answers a process fetched serve
// all of its verifications. It is one of the package's two process-wide
// values; the other is systemRootIndex (roots.go), the index of the system
// bundle, read once per process. Both are caches of what the process
// could compute again, never settings.
var defaultChecker = sync.OnceValue(func() *Checker { return &Checker{} })

// DefaultChecker returns the Checker used when Options.Checker is nil: one
// per process, with the on-disk cache in DefaultRevocationCacheDir().
func DefaultChecker() *Checker { return defaultChecker() }

// fetched is a cached outcome: an authenticated answer or an error.
type fetched struct {
	val   any // *x509.RevocationList or *ocsp.Response
	err   error
	until time.Time // wall clock
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultFetchTimeout
}

func (c *Checker) maxSize() int64 {
	if c.MaxSize > 0 {
		return c.MaxSize
	}
	return DefaultMaxFetchSize
}

func (c *Checker) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// FetchError is a CRL or OCSP fetch that failed.
type FetchError struct {
	URL string
	Err error
}

func (e *FetchError) Error() string { return fmt.Sprintf("fetching %s: %v", e.URL, e.Err) }
func (e *FetchError) Unwrap() error { return e.Err }

// do runs one fetch under the Checker's timeout, with Fetch or the
// built-in client, and bounds the body by MaxSize.
func (c *Checker) do(ctx context.Context, url string, body []byte) ([]byte, error) {
	// Whether the caller's deadline comes before the Timeout (a share of
	// a handshake's time): then that is what a timeout means.
	dl, ok := ctx.Deadline()
	callerFirst := ok && dl.Before(time.Now().Add(c.timeout()))
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	method, contentType := "GET", ""
	if body != nil {
		method, contentType = "POST", "application/ocsp-request"
	}
	max := c.maxSize()
	fetch := c.Fetch
	if fetch == nil {
		fetch = (&httpClient{maxSize: max}).fetch
	}
	b, err := fetch(ctx, method, url, contentType, body)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && callerFirst:
			err = errors.New("no answer before the time for revocation checks ran out")
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("no answer within %s", c.timeout())
		}
		return nil, &FetchError{URL: url, Err: err}
	}
	if int64(len(b)) > max {
		return nil, &FetchError{URL: url, Err: fmt.Errorf("larger than %d bytes", max)}
	}
	return b, nil
}

// CRL fetches the CRL at url and checks that issuer signed it (RFC 5280,
// 6.3.3). It does not check freshness.
func (c *Checker) CRL(ctx context.Context, url string, issuer *x509.Certificate) (*x509.RevocationList, error) {
	v, err, _ := c.answer(ctx, crlQuery(url, issuer), false)
	if err != nil {
		return nil, err
	}
	return v.(*x509.RevocationList), nil
}

// OCSP asks the responder at url about cert (RFC 6960, A.1).
func (c *Checker) OCSP(ctx context.Context, url string, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	q, err := ocspQuery(url, cert, issuer)
	if err != nil {
		return nil, err
	}
	v, err, _ := c.answer(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return v.(*ocsp.Response), nil
}

// parseOCSP parses and authenticates an OCSP response: signed by the
// issuer, or by a responder certificate the issuer delegated with the
// OCSPSigning extended key usage (RFC 6960, 4.2.2.2) and valid at at (the
// key of an expired responder certificate may no longer be guarded, and
// what it signs can be dated back into its validity).
func parseOCSP(der []byte, cert, issuer *x509.Certificate, at time.Time) (*ocsp.Response, error) {
	r, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		var re ocsp.ResponseError
		var se asn1.StructuralError
		var sy asn1.SyntaxError
		var pe ocsp.ParseError
		switch {
		case errors.As(err, &re):
			return nil, fmt.Errorf("the responder answered %q", re.Status)
		case errors.As(err, &se) || errors.As(err, &sy) ||
			errors.As(err, &pe) && (strings.HasPrefix(string(pe), "trailing data") || strings.HasPrefix(string(pe), "bad OCSP response type")):
			return nil, fmt.Errorf("the data is not a DER-encoded OCSP response (%s)", clip(err.Error()))
		case errors.As(err, &pe) && strings.HasPrefix(string(pe), "bad OCSP signature"):
			// Name the signer: the issuer's key, or an embedded
			// responder certificate the issuer did not sign.
			if u, uerr := ocsp.ParseResponse(der, nil); uerr == nil && u.Certificate != nil {
				return nil, fmt.Errorf("the response is signed by %q, which %q did not certify (%v)", u.Certificate.Subject, issuer.Subject, err)
			}
			return nil, fmt.Errorf("the response is not signed by the issuer %q (%v)", issuer.Subject, err)
		}
		return nil, fmt.Errorf("the response is not valid for this certificate: %v", err)
	}
	if rc := r.Certificate; rc != nil && !rc.Equal(issuer) {
		ok := false
		for _, u := range rc.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageOCSPSigning
		}
		if !ok {
			return nil, fmt.Errorf("the response is signed by %q, which the issuer did not authorise for OCSP (no OCSPSigning usage)", rc.Subject)
		}
		if at.Before(rc.NotBefore.Add(-clockSkew)) || at.After(rc.NotAfter.Add(clockSkew)) {
			return nil, fmt.Errorf("the response is signed by the responder certificate %q, valid from %s to %s, not now", rc.Subject, day(rc.NotBefore), day(rc.NotAfter))
		}
	}
	return r, nil
}

var reasonText = map[int]string{
	ocsp.Unspecified: "unspecified", ocsp.KeyCompromise: "keyCompromise", ocsp.CACompromise: "cACompromise",
	ocsp.AffiliationChanged: "affiliationChanged", ocsp.Superseded: "superseded",
	ocsp.CessationOfOperation: "cessationOfOperation", ocsp.CertificateHold: "certificateHold",
	ocsp.RemoveFromCRL: "removeFromCRL", ocsp.PrivilegeWithdrawn: "privilegeWithdrawn", ocsp.AACompromise: "aACompromise",
}

func reasonName(code int) string {
	if s, ok := reasonText[code]; ok {
		return s
	}
	return fmt.Sprintf("reason %d", code)
}

// fromOCSP turns an authenticated OCSP response into a result, checking
// its freshness (RFC 6960, 4.2.2.1) against now.
func fromOCSP(r *ocsp.Response, src string, now time.Time) (RevocationResult, error) {
	const skew = 5 * time.Minute
	if r.ThisUpdate.After(now.Add(skew)) {
		return RevocationResult{}, fmt.Errorf("%s: the response is dated %s, in the future", src, day(r.ThisUpdate))
	}
	if !r.NextUpdate.IsZero() && now.After(r.NextUpdate.Add(skew)) {
		return RevocationResult{}, fmt.Errorf("%s: the response is stale (next update was due %s)", src, day(r.NextUpdate))
	}
	if r.NextUpdate.IsZero() && now.After(r.ThisUpdate.Add(noNextUpdateLife+skew)) {
		return RevocationResult{}, fmt.Errorf("%s: the response is stale (it names no next update and was produced %s, more than %v ago)", src, day(r.ThisUpdate), noNextUpdateLife)
	}
	switch r.Status {
	case ocsp.Good:
		return RevocationResult{Status: StatusGood, Source: src}, nil
	case ocsp.Revoked:
		return RevocationResult{Status: StatusRevoked, Source: src, RevokedAt: r.RevokedAt, Reason: reasonName(r.RevocationReason)}, nil
	}
	return RevocationResult{}, fmt.Errorf("%s: the responder does not know the certificate", src)
}

// checkRevocation checks each certificate of the path whose issuer is
// known, except the root, whose revocation is the trust store's business.
// The certificates are checked at the same time, so a first contact costs
// one round trip to the slowest responder, not one per certificate.
func (v *verifier) checkRevocation() {
	mode := v.opts.Revocation
	if mode == RevocationOff {
		return
	}
	if !v.r.Trusted {
		// A path that ends in no trusted root is the server's word
		// alone, its responders' and distribution points' URLs too:
		// fetching them would let any server make the client request
		// addresses of its choosing (inside the client's network), for
		// a chain that fails anyway.
		return
	}
	if mode == "" {
		mode = RevocationSoft
	}
	checker := v.opts.Checker
	if checker == nil {
		checker = DefaultChecker()
	}
	type outcome struct {
		res   RevocationResult
		tried bool
	}
	n := max(len(v.path)-1, 0)
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	for pos := 0; pos < n; pos++ {
		cert, issuer := v.certs[v.path[pos]], v.certs[v.path[pos+1]]
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[pos].res, outcomes[pos].tried = v.revocationOf(checker, pos, cert, issuer)
		}()
	}
	wg.Wait()
	for pos := 0; pos < n; pos++ {
		idx := v.path[pos]
		cert := v.certs[idx]
		res, tried := outcomes[pos].res, outcomes[pos].tried
		res.Cert = idx
		if !tried {
			if mode != RevocationStrict {
				continue
			}
			res.Detail = "the certificate names no CRL or OCSP responder and no OCSP response was stapled"
		}
		v.r.Revocation = append(v.r.Revocation, res)
		name := v.certName(idx, subjectOf(cert))
		switch res.Status {
		case StatusRevoked:
			v.add(KindRevoked, SeverityError, idx,
				fmt.Sprintf("%s was revoked on %s (reason: %s), according to the %s", name, day(res.RevokedAt), res.Reason, res.Source),
				"the server must get and install a new certificate (and a new key if the key was compromised); a revoked certificate must not be trusted")
		case StatusUnknown:
			sev, fix := SeverityWarning, "check that this machine can reach the CRL and OCSP URLs (plain http, port 80), or turn the revocation check off"
			if mode == RevocationStrict {
				sev = SeverityError
				fix = "check that this machine can reach the CRL and OCSP URLs (plain http, port 80), or make the revocation check soft to accept an unknown status with a warning"
			}
			v.add(KindRevocationUnknown, sev, idx, fmt.Sprintf("the revocation status of %s is unknown: %s", name, res.Detail), fix)
		}
	}
}

// revSource is one CRL distribution point or OCSP responder of a
// certificate.
type revSource struct {
	q query
	// status turns the authenticated answer into a definitive status, or
	// says why it gives none.
	status func(val any) (RevocationResult, error)
	// explain words a failed fetch or check for Detail.
	explain func(err error) string
}

// revocationOf tries the stapled response (leaf only) first; without a
// definitive answer there, it asks the CRL distribution points and OCSP
// responders: those whose answer (or recent failure) is cached, without
// the network; then, unless a cached answer settled it, the rest all at
// once, under one time budget (each fetch's Timeout, started together).
// A revocation wins as soon as it is known and cancels the other fetches;
// a good answer wins only once every source asked has answered or failed,
// so that a fast good answer from one source cannot hide a revocation
// that another source reports (the CA revoked the certificate after one
// of its answers was signed). tried is false when there was nothing to
// try.
func (v *verifier) revocationOf(checker *Checker, pos int, cert, issuer *x509.Certificate) (res RevocationResult, tried bool) {
	// slots holds what each source said, in the certificate's order, for
	// Detail.
	var slots []string
	answer := func(r RevocationResult) RevocationResult {
		var said []string
		for _, s := range slots {
			if s != "" {
				said = append(said, s)
			}
		}
		r.Detail = strings.Join(said, "; ")
		return r
	}
	if pos == 0 && len(v.opts.StapledOCSP) > 0 {
		tried = true
		r, err := parseOCSP(v.opts.StapledOCSP, cert, issuer, v.now)
		if err == nil {
			var out RevocationResult
			if out, err = fromOCSP(r, "stapled OCSP response", v.now); err == nil {
				return answer(out), true
			}
		} else {
			err = fmt.Errorf("stapled OCSP response: %v", err)
		}
		slots = append(slots, err.Error())
	}
	var sources []revSource
	var at []int // sources[i]'s slot
	add := func(s revSource) {
		sources = append(sources, s)
		at = append(at, len(slots))
		slots = append(slots, "")
	}
	for i, u := range cert.CRLDistributionPoints {
		tried = true
		if i == maxURLsPerKind {
			slots = append(slots, fmt.Sprintf("%d more CRL URLs not fetched (at most %d per certificate)", len(cert.CRLDistributionPoints)-i, maxURLsPerKind))
			break
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			slots = append(slots, fmt.Sprintf("CRL %s: only http and https are fetched", u))
			continue
		}
		src := "CRL at " + u
		add(revSource{q: crlQuery(u, issuer), explain: func(err error) string { return err.Error() },
			status: func(val any) (RevocationResult, error) {
				rl := val.(*x509.RevocationList)
				if scope, err := crlScopeOf(rl, u); err != nil {
					return RevocationResult{}, fmt.Errorf("%s: the CRL %v", src, err)
				} else if err := scope.covers(cert); err != nil {
					return RevocationResult{}, fmt.Errorf("%s: the CRL %v", src, err)
				}
				if !rl.NextUpdate.IsZero() && v.now.After(rl.NextUpdate) {
					return RevocationResult{}, fmt.Errorf("%s: the CRL is stale (next update was due %s)", src, day(rl.NextUpdate))
				}
				if rl.NextUpdate.IsZero() && v.now.After(rl.ThisUpdate.Add(noNextUpdateLife)) {
					return RevocationResult{}, fmt.Errorf("%s: the CRL is stale (it names no next update and was issued %s, more than %v ago)", src, day(rl.ThisUpdate), noNextUpdateLife)
				}
				for _, e := range rl.RevokedCertificateEntries {
					if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
						return RevocationResult{Status: StatusRevoked, Source: src, RevokedAt: e.RevocationTime, Reason: reasonName(e.ReasonCode)}, nil
					}
				}
				return RevocationResult{Status: StatusGood, Source: src}, nil
			}})
	}
	for i, u := range cert.OCSPServer {
		tried = true
		if i == maxURLsPerKind {
			slots = append(slots, fmt.Sprintf("%d more OCSP URLs not asked (at most %d per certificate)", len(cert.OCSPServer)-i, maxURLsPerKind))
			break
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			slots = append(slots, fmt.Sprintf("OCSP %s: only http and https are used", u))
			continue
		}
		q, err := ocspQuery(u, cert, issuer)
		if err != nil {
			slots = append(slots, fmt.Sprintf("OCSP at %s: %v", u, err))
			continue
		}
		add(revSource{q: q,
			explain: func(err error) string {
				if fe := (*FetchError)(nil); errors.As(err, &fe) {
					err = fe.Err // its URL is u, named here once
				}
				return fmt.Sprintf("OCSP at %s: %v", u, err)
			},
			status: func(val any) (RevocationResult, error) {
				return fromOCSP(val.(*ocsp.Response), "OCSP responder at "+u, v.now)
			}})
	}
	unknown := func() (RevocationResult, bool) {
		r := answer(RevocationResult{Status: StatusUnknown})
		return r, tried
	}
	// eval asks one source; ok is set for a definitive answer, found
	// when a cache or the network answered at all.
	eval := func(ctx context.Context, s revSource, cachedOnly bool) (r RevocationResult, said string, ok, found bool) {
		val, err, found := checker.answer(ctx, s.q, cachedOnly)
		if !found {
			return r, "", false, false
		}
		if err != nil {
			return r, s.explain(err), false, true
		}
		if r, err = s.status(val); err != nil {
			return r, err.Error(), false, true
		}
		return r, "", true, true
	}
	// good is the first good answer; a revocation returns at once.
	var good *RevocationResult
	var pending []int
	for i, s := range sources {
		r, said, ok, found := eval(v.ctx, s, true)
		switch {
		case ok && r.Status == StatusRevoked:
			return answer(r), true
		case ok:
			if good == nil {
				good = &r
			}
		case found:
			slots[at[i]] = said
		default:
			pending = append(pending, i)
		}
	}
	// A cached good answer (valid until its own nextUpdate) settles the
	// status without the network, as a CRL-only client would, unless
	// another cached answer says revoked.
	if good != nil {
		return answer(*good), true
	}
	if len(pending) == 0 {
		return unknown()
	}
	ctx, cancel := context.WithCancel(v.ctx)
	defer cancel()
	type reply struct {
		i    int
		r    RevocationResult
		said string
		ok   bool
	}
	replies := make(chan reply, len(pending))
	for _, i := range pending {
		go func() {
			r, said, ok, _ := eval(ctx, sources[i], false)
			replies <- reply{i, r, said, ok}
		}()
	}
	for range pending {
		x := <-replies
		switch {
		case x.ok && x.r.Status == StatusRevoked:
			cancel() // the others' outcomes are not recorded
			return answer(x.r), true
		case x.ok:
			if good == nil {
				good = &x.r
			}
		default:
			slots[at[x.i]] = x.said
		}
	}
	if good != nil {
		return answer(*good), true
	}
	return unknown()
}
