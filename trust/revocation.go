package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	// failureTTL is how long a failed fetch is remembered, so that a batch
	// of connections does not wait on the same dead URL again and again.
	failureTTL = time.Minute
	// maxCacheAge bounds how long a CRL or OCSP response without a
	// nextUpdate is reused.
	maxCacheAge = time.Hour
	// maxURLsPerKind bounds the CRL URLs, and the OCSP URLs, tried for one
	// certificate: each may take the whole Timeout, and a certificate (so
	// whoever made it) may list any number.
	maxURLsPerKind = 3
)

// Checker fetches CRLs (RFC 5280, section 5) and OCSP responses (RFC 6960,
// appendix A.1, HTTP POST) with a timeout and caches them in memory until
// their nextUpdate. The zero value is ready to use; a Checker is safe for
// concurrent use and must not be copied after first use.
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
	// Timeout bounds each fetch; zero means DefaultFetchTimeout.
	Timeout time.Duration
	// MaxSize bounds a fetched body; zero means DefaultMaxFetchSize.
	MaxSize int64

	mu    sync.Mutex
	cache map[string]*fetched
}

type fetched struct {
	body  []byte
	err   error
	until time.Time // wall clock
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultFetchTimeout
}

// FetchError is a CRL or OCSP fetch that failed.
type FetchError struct {
	URL string
	Err error
}

func (e *FetchError) Error() string { return fmt.Sprintf("fetching %s: %v", e.URL, e.Err) }
func (e *FetchError) Unwrap() error { return e.Err }

// fetch GETs url (or POSTs body to it), using the cache keyed by key.
func (c *Checker) fetch(ctx context.Context, key, url string, body []byte, ttl func([]byte) time.Time) ([]byte, error) {
	c.mu.Lock()
	if f, ok := c.cache[key]; ok && time.Now().Before(f.until) {
		c.mu.Unlock()
		return f.body, f.err
	}
	c.mu.Unlock()

	b, err := c.do(ctx, url, body)
	f := &fetched{body: b, err: err, until: time.Now().Add(failureTTL)}
	if err == nil {
		f.until = ttl(b)
	}
	if ctx.Err() == nil { // a cancelled caller says nothing about the URL
		c.mu.Lock()
		if c.cache == nil {
			c.cache = map[string]*fetched{}
		}
		c.cache[key] = f
		c.mu.Unlock()
	}
	return b, err
}

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
	max := c.MaxSize
	if max <= 0 {
		max = DefaultMaxFetchSize
	}
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
	der, err := c.fetch(ctx, "crl "+url, url, nil, func(b []byte) time.Time {
		until := time.Now().Add(maxCacheAge)
		if rl, err := x509.ParseRevocationList(b); err == nil && !rl.NextUpdate.IsZero() && rl.NextUpdate.Before(until) {
			until = rl.NextUpdate
		}
		return until
	})
	if err != nil {
		return nil, err
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("the CRL at %s cannot be parsed: %v", url, err)
	}
	if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("the CRL at %s is issued by %q, not by %q", url, rl.Issuer, issuer.Subject)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("the CRL at %s is not signed by %q: %v", url, issuer.Subject, err)
	}
	return rl, nil
}

// OCSP asks the responder at url about cert (RFC 6960, A.1).
func (c *Checker) OCSP(ctx context.Context, url string, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("ocsp %s %x %s", url, issuer.RawSubjectPublicKeyInfo, cert.SerialNumber)
	der, err := c.fetch(ctx, key, url, req, func(b []byte) time.Time {
		until := time.Now().Add(maxCacheAge)
		if r, err := ocsp.ParseResponse(b, nil); err == nil && !r.NextUpdate.IsZero() && r.NextUpdate.Before(until) {
			until = r.NextUpdate
		}
		return until
	})
	if err != nil {
		return nil, err
	}
	return parseOCSP(der, cert, issuer)
}

// parseOCSP parses and authenticates an OCSP response: signed by the
// issuer, or by a responder certificate the issuer delegated with the
// OCSPSigning extended key usage (RFC 6960, 4.2.2.2).
func parseOCSP(der []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
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
func (v *verifier) checkRevocation() {
	mode := v.opts.Revocation
	if mode == RevocationOff {
		return
	}
	if mode == "" {
		mode = RevocationSoft
	}
	checker := v.opts.Checker
	if checker == nil {
		checker = &Checker{}
	}
	for pos := 0; pos+1 < len(v.path); pos++ {
		idx := v.path[pos]
		cert, issuer := v.certs[idx], v.certs[v.path[pos+1]]
		res, tried := v.revocationOf(checker, pos, cert, issuer)
		res.Cert = idx
		if !tried {
			if mode != RevocationStrict {
				continue
			}
			res.Detail = "the certificate names no CRL or OCSP responder and no OCSP response was stapled"
		}
		v.r.Revocation = append(v.r.Revocation, res)
		name := fmt.Sprintf("certificate %d (%s)", idx, subjectOf(cert))
		switch res.Status {
		case StatusRevoked:
			v.add(KindRevoked, SeverityError, idx,
				fmt.Sprintf("%s was revoked on %s (reason: %s), according to the %s", name, day(res.RevokedAt), res.Reason, res.Source),
				"the server must get and install a new certificate (and a new key if the key was compromised); a revoked certificate must not be trusted")
		case StatusUnknown:
			sev, fix := SeverityWarning, "check that this machine can reach the CRL and OCSP URLs (plain http, port 80); --revocation off skips the check"
			if mode == RevocationStrict {
				sev = SeverityError
				fix = "check that this machine can reach the CRL and OCSP URLs (plain http, port 80), or use --revocation soft to accept an unknown status with a warning"
			}
			v.add(KindRevocationUnknown, sev, idx, fmt.Sprintf("the revocation status of %s is unknown: %s", name, res.Detail), fix)
		}
	}
}

// revocationOf tries the stapled response (leaf only), then each CRL
// distribution point, then each OCSP responder, and stops at the first
// answer. tried is false when there was nothing to try.
func (v *verifier) revocationOf(checker *Checker, pos int, cert, issuer *x509.Certificate) (res RevocationResult, tried bool) {
	var failures []string
	answer := func(r RevocationResult) RevocationResult {
		r.Detail = strings.Join(failures, "; ")
		return r
	}
	if pos == 0 && len(v.opts.StapledOCSP) > 0 {
		tried = true
		r, err := parseOCSP(v.opts.StapledOCSP, cert, issuer)
		if err == nil {
			var out RevocationResult
			if out, err = fromOCSP(r, "stapled OCSP response", v.now); err == nil {
				return answer(out), true
			}
		} else {
			err = fmt.Errorf("stapled OCSP response: %v", err)
		}
		failures = append(failures, err.Error())
	}
	for i, u := range cert.CRLDistributionPoints {
		tried = true
		if i == maxURLsPerKind {
			failures = append(failures, fmt.Sprintf("%d more CRL URLs not fetched (at most %d per certificate)", len(cert.CRLDistributionPoints)-i, maxURLsPerKind))
			break
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			failures = append(failures, fmt.Sprintf("CRL %s: only http and https are fetched", u))
			continue
		}
		rl, err := checker.CRL(v.ctx, u, issuer)
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		src := "CRL at " + u
		if !rl.NextUpdate.IsZero() && v.now.After(rl.NextUpdate) {
			failures = append(failures, fmt.Sprintf("%s: the CRL is stale (next update was due %s)", src, day(rl.NextUpdate)))
			continue
		}
		for _, e := range rl.RevokedCertificateEntries {
			if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return answer(RevocationResult{Status: StatusRevoked, Source: src, RevokedAt: e.RevocationTime, Reason: reasonName(e.ReasonCode)}), true
			}
		}
		return answer(RevocationResult{Status: StatusGood, Source: src}), true
	}
	for i, u := range cert.OCSPServer {
		tried = true
		if i == maxURLsPerKind {
			failures = append(failures, fmt.Sprintf("%d more OCSP URLs not asked (at most %d per certificate)", len(cert.OCSPServer)-i, maxURLsPerKind))
			break
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			failures = append(failures, fmt.Sprintf("OCSP %s: only http and https are used", u))
			continue
		}
		r, err := checker.OCSP(v.ctx, u, cert, issuer)
		if err != nil {
			if fe := (*FetchError)(nil); errors.As(err, &fe) {
				err = fe.Err // its URL is u, named here once
			}
			failures = append(failures, fmt.Sprintf("OCSP at %s: %v", u, err))
			continue
		}
		out, err := fromOCSP(r, "OCSP responder at "+u, v.now)
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		return answer(out), true
	}
	return RevocationResult{Status: StatusUnknown, Detail: strings.Join(failures, "; ")}, tried
}
