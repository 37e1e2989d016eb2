package trust

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultCacheSize is the number of verdicts a Cache with Size zero keeps.
const DefaultCacheSize = 64

// Cache remembers the Reports of VerifyContext, so that a program that
// connects to the same server again and again (a queue run, a library
// user reconnecting, a resumed TLS session, which re-verifies by design)
// checks each chain once. Set Options.Cache to use it. The caller owns it
// (there is no package-level cache) and may share it between goroutines.
//
// A Report is reused only for the exact same certificates (compared by
// their DER bytes) and the same options: roots (the same *x509.CertPool;
// do not add to a pool while a Cache holds verdicts made with it), name,
// pins, revocation mode, stapled OCSP response and expiry warning. It is
// reused only while the reference time stays on the same side of every
// date the verdict depends on (each certificate's NotBefore and NotAfter,
// the expiry warning's threshold, and when each local CRL goes stale), so
// an expiry, or a certificate becoming valid, is seen at once. A verdict that depends on revocation
// data (a stapled OCSP response, or a certificate naming a CRL or OCSP
// responder, with revocation checking on) is never cached: that state has
// its own lifetime, and the Checker already caches what it fetched. So a
// cached Report is always the one VerifyContext would return.
type Cache struct {
	// Size bounds the number of verdicts kept; zero means
	// DefaultCacheSize. When full, an arbitrary verdict is dropped.
	Size int

	mu   sync.Mutex
	m    map[[sha256.Size]byte]*cached
	hits int // verdicts reused (for tests)
}

type cached struct {
	// roots is the pool the verdict was made with (compared by identity:
	// holding it keeps its address from being reused).
	roots  *x509.CertPool
	report Report
	// The verdict holds for reference times strictly between after and
	// before.
	after, before time.Time
}

// verify is VerifyContext through the cache.
func (c *Cache) verify(ctx context.Context, chain []*x509.Certificate, opts Options) Report {
	now := opts.now()
	key, ok := cacheKey(chain, opts)
	if !ok {
		return verifyUncached(ctx, chain, opts, now)
	}
	c.mu.Lock()
	e := c.m[key]
	hit := e != nil && e.roots == opts.Roots && now.After(e.after) && now.Before(e.before)
	if hit {
		c.hits++
	}
	c.mu.Unlock()
	if hit {
		return e.report.rebind(chain)
	}
	r := verifyUncached(ctx, chain, opts, now)
	after, before, ok := validityWindow(r, opts, now)
	if !ok || dependsOnRevocation(r, opts) {
		return r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[sha256.Size]byte]*cached)
	}
	size := c.Size
	if size <= 0 {
		size = DefaultCacheSize
	}
	for k := range c.m {
		if len(c.m) < size {
			break
		}
		delete(c.m, k)
	}
	c.m[key] = &cached{roots: opts.Roots, report: r.rebind(nil), after: after, before: before}
	return r
}

// rebind returns a copy of r whose slices are its own, with Chain set to
// chain (certificates with the same bytes as r's) and Path rebuilt from
// PathIndex.
func (r Report) rebind(chain []*x509.Certificate) Report {
	out := r
	out.Problems = slices.Clone(r.Problems)
	out.Revocation = slices.Clone(r.Revocation)
	out.PathIndex = slices.Clone(r.PathIndex)
	if chain == nil {
		chain = r.Chain
	}
	out.Chain = slices.Clone(chain)
	if r.Path != nil {
		certs := out.Certificates()
		out.Path = make([]*x509.Certificate, 0, len(r.PathIndex))
		for _, i := range r.PathIndex {
			if i >= 0 && i < len(certs) {
				out.Path = append(out.Path, certs[i])
			}
		}
	}
	return out
}

// cacheKey digests the certificates and every option the verdict depends
// on. ok is false when the chain cannot be cached (an unparsed
// certificate).
func cacheKey(chain []*x509.Certificate, opts Options) (key [sha256.Size]byte, ok bool) {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte{byte(len(chain))})
	for _, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return key, false
		}
		field(c.Raw)
	}
	field([]byte(opts.Name))
	field([]byte(strings.Join(opts.Pins, "\x00")))
	field([]byte(opts.Revocation))
	field(opts.StapledOCSP)
	field([]byte{byte(len(opts.CRLs))})
	for _, crl := range opts.CRLs {
		if crl == nil {
			return key, false
		}
		field(crl.id[:])
	}
	binary.BigEndian.PutUint64(n[:], uint64(opts.ExpiryWarning))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(opts.Sent)) // it changes the summaries' wording
	h.Write(n[:])
	h.Sum(key[:0])
	return key, true
}

// verifyUncached runs the verification at the given time.
func verifyUncached(ctx context.Context, chain []*x509.Certificate, opts Options, now time.Time) Report {
	opts.Cache = nil
	opts.Time = now
	return VerifyContext(ctx, chain, opts)
}

// validityWindow is the open interval of reference times around now on
// which no date the verdict depends on lies. ok is false when now is
// exactly on one of them.
func validityWindow(r Report, opts Options, now time.Time) (after, before time.Time, ok bool) {
	warn := opts.ExpiryWarning
	if warn == 0 {
		warn = DefaultExpiryWarning
	}
	var dates []time.Time
	for _, c := range r.Certificates() {
		dates = append(dates, c.NotBefore, c.NotAfter)
		if warn > 0 {
			dates = append(dates, c.NotAfter.Add(-warn))
		}
	}
	for _, crl := range opts.CRLs {
		if crl != nil {
			dates = append(dates, crl.staleAt())
		}
	}
	after, before = time.Time{}, time.Unix(1<<62, 0)
	for _, d := range dates {
		switch {
		case d.Equal(now):
			return after, before, false
		case d.Before(now) && d.After(after):
			after = d
		case d.After(now) && d.Before(before):
			before = d
		}
	}
	return after, before, true
}

// dependsOnRevocation reports whether revocation data could change the
// verdict later: a stapled response, or, with checking on, a certificate
// that names a CRL or OCSP responder.
func dependsOnRevocation(r Report, opts Options) bool {
	if len(opts.StapledOCSP) > 0 {
		return true
	}
	if opts.Revocation == RevocationOff {
		return false
	}
	for _, c := range r.Certificates() {
		if len(c.OCSPServer) > 0 || len(c.CRLDistributionPoints) > 0 {
			return true
		}
	}
	return false
}
