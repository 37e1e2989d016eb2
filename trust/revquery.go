package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// query is one CRL or OCSP request and how to authenticate its answer.
type query struct {
	// key names the request in the caches: the URL and everything the
	// answer is checked against.
	key, url string
	// body is the OCSP request (POST); nil for a CRL (GET).
	body []byte
	// check parses and authenticates der, an answer fetched at fetched,
	// and says until when it may be reused.
	check func(der []byte, fetched time.Time) (val any, until time.Time, err error)
}

// reuseUntil is the end of an answer's reuse: its nextUpdate, never later
// (RFC 5280 section 5.1.2.5, RFC 6960 section 4.2.2.1), or, when it names
// none, maxCacheAge after the fetch and never past the end of its
// currency (noNextUpdateLife after its thisUpdate); never more than
// maxAnswerAge after the fetch.
func reuseUntil(this, next, fetched time.Time) time.Time {
	if next.IsZero() {
		u := fetched.Add(maxCacheAge)
		if end := this.Add(noNextUpdateLife); end.Before(u) {
			u = end
		}
		return u
	}
	if lim := fetched.Add(maxAnswerAge); next.After(lim) {
		return lim
	}
	return next
}

// notFuture refuses an answer dated (thisUpdate) after it was fetched,
// beyond the clock skew allowed: not yet valid (OpenSSL's "CRL is not yet
// valid"; RFC 6960 section 4.2.2.1 for OCSP). Refused at the check, it is
// remembered as a failure for failureTTL, not kept as an answer until its
// nextUpdate: the responder's clock may be fixed in minutes.
func notFuture(this, fetched time.Time) error {
	if this.After(fetched.Add(clockSkew)) {
		return fmt.Errorf("is dated %s, in the future (check this machine's clock)", this.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// issuerID identifies an issuer by name and key.
func issuerID(issuer *x509.Certificate) string {
	h := sha256.New()
	h.Write(issuer.RawSubject)
	h.Write(issuer.RawSubjectPublicKeyInfo)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// crlQuery asks for the CRL at url, which issuer must have signed (RFC
// 5280, 6.3.3).
func crlQuery(url string, issuer *x509.Certificate) query {
	return query{key: "crl " + url + " " + issuerID(issuer), url: url,
		check: func(der []byte, fetched time.Time) (any, time.Time, error) {
			rl, err := x509.ParseRevocationList(der)
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("the CRL at %s cannot be parsed: %v", url, err)
			}
			if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) {
				return nil, time.Time{}, fmt.Errorf("the CRL at %s is issued by %q, not by %q", url, rl.Issuer, issuer.Subject)
			}
			if err := rl.CheckSignatureFrom(issuer); err != nil {
				return nil, time.Time{}, fmt.Errorf("the CRL at %s is not signed by %q: %v", url, issuer.Subject, err)
			}
			if err := notFuture(rl.ThisUpdate, fetched); err != nil {
				return nil, time.Time{}, fmt.Errorf("the CRL at %s %v", url, err)
			}
			if _, err := crlScopeOf(rl, url); err != nil {
				return nil, time.Time{}, fmt.Errorf("the CRL at %s %v", url, err)
			}
			return rl, reuseUntil(rl.ThisUpdate, rl.NextUpdate, fetched), nil
		}}
}

// ocspQuery asks the responder at url about cert (RFC 6960, A.1).
func ocspQuery(url string, cert, issuer *x509.Certificate) (query, error) {
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return query{}, err
	}
	return query{key: fmt.Sprintf("ocsp %s %s %s", url, issuerID(issuer), cert.SerialNumber), url: url, body: req,
		check: func(der []byte, fetched time.Time) (any, time.Time, error) {
			r, err := parseOCSP(der, cert, issuer, fetched)
			if err != nil {
				return nil, time.Time{}, err
			}
			if err := notFuture(r.ThisUpdate, fetched); err != nil {
				return nil, time.Time{}, fmt.Errorf("the response %v", err)
			}
			return r, reuseUntil(r.ThisUpdate, r.NextUpdate, fetched), nil
		}}, nil
}

// answer returns the authenticated answer to q: from memory, from the disk
// cache, or (unless cachedOnly) from the network. found is false when
// cachedOnly is set and no cache holds an answer or a recent failure.
func (c *Checker) answer(ctx context.Context, q query, cachedOnly bool) (val any, err error, found bool) {
	now := c.clock()
	c.mu.Lock()
	f, ok := c.cache[q.key]
	c.mu.Unlock()
	if ok && now.Before(f.until) {
		return f.val, f.err, true
	}
	if d := c.diskCache(); d != nil {
		if f, ok := fromDisk(d, q, now); ok {
			c.remember(q.key, f)
			return f.val, f.err, true
		}
	}
	if cachedOnly {
		return nil, nil, false
	}
	f = c.fetchNow(ctx, q)
	return f.val, f.err, true
}

// maxMemEntries and maxMemBytes bound a Checker's in-memory cache: the
// process's default Checker lives as long as the program, and a CRL can
// be megabytes (MaxSize each; any server may name CRLs of its own CA).
const (
	maxMemEntries = 256
	maxMemBytes   = 64 << 20
)

// size is the DER size of f's answer (its parsed form is of that order).
func (f *fetched) size() int {
	switch v := f.val.(type) {
	case *x509.RevocationList:
		return len(v.Raw)
	case *ocsp.Response:
		return len(v.Raw)
	}
	return 0
}

// remember keeps f in memory. When the cache is full (in entries or in
// bytes), expired entries go first, then arbitrary ones (the disk cache
// still holds them); f itself is kept.
func (c *Checker) remember(key string, f *fetched) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[string]*fetched{}
	}
	if old, ok := c.cache[key]; ok {
		c.memBytes -= old.size()
		delete(c.cache, key)
	}
	full := func() bool {
		return len(c.cache) >= maxMemEntries || c.memBytes+f.size() > maxMemBytes
	}
	if full() {
		now := c.clock()
		for k, e := range c.cache {
			if !now.Before(e.until) {
				c.memBytes -= e.size()
				delete(c.cache, k)
			}
		}
		for k, e := range c.cache {
			if !full() {
				break
			}
			c.memBytes -= e.size()
			delete(c.cache, k)
		}
	}
	c.cache[key] = f
	c.memBytes += f.size()
}

// diskCache opens the on-disk cache on first use; nil when it is off or
// its directory cannot be used (the reason is kept for DiskCacheError).
func (c *Checker) diskCache() *diskCache {
	if c.NoDiskCache {
		return nil
	}
	c.diskOnce.Do(func() {
		dir := c.CacheDir
		if dir == "" {
			var err error
			if dir, err = DefaultRevocationCacheDir(); err != nil {
				return // off, or no cache directory for this user: nothing refused
			}
		}
		d, err := openDiskCache(dir, c.CacheEntries, c.CacheBytes, c.maxSize())
		if err != nil {
			var ce *CacheDirError
			if !errors.As(err, &ce) {
				ce = &CacheDirError{Dir: dir, Err: err}
			}
			c.diskErr.Store(ce)
			return
		}
		c.disk = d
	})
	return c.disk
}

// DiskCacheError reports why the Checker does not use its on-disk cache
// although it has a directory for it: a *CacheDirError once a revocation
// check needed the cache and the directory was refused. It is nil while
// the cache is in use or was not needed yet, and when it is off
// (NoDiskCache, RevocationCacheEnv set to "off") or this user has no cache
// directory. A refused cache changes no verdict: the Checker keeps answers
// in its memory only, so each process fetches them again. A program shows
// the error once, after its checks, so that the user can fix the directory.
func (c *Checker) DiskCacheError() error {
	if e := c.diskErr.Load(); e != nil {
		return e
	}
	return nil
}

// fromDisk reads q's entry and checks it as if it had just been fetched:
// an answer must authenticate again and still be within its own validity
// (the file's word on that can only shorten it); a failure is believed for
// failureTTL after it happened. Anything else is ignored.
func fromDisk(d *diskCache, q query, now time.Time) (*fetched, bool) {
	e, ok := d.get(q.key)
	if !ok || e.fetched.After(now.Add(clockSkew)) {
		return nil, false
	}
	if e.kind == entryAnswer {
		val, until, err := q.check(e.body, e.fetched)
		if err != nil {
			return nil, false
		}
		if e.until.Before(until) {
			until = e.until
		}
		if !now.Before(until) {
			return nil, false
		}
		return &fetched{val: val, until: until}, true
	}
	until := e.fetched.Add(failureTTL)
	if e.until.Before(until) {
		until = e.until
	}
	if !now.Before(until) {
		return nil, false
	}
	err := fmt.Errorf("%s (remembered from the attempt at %s; asked again from %s)", e.body,
		e.fetched.UTC().Format("15:04:05 UTC"), until.UTC().Format("15:04:05 UTC"))
	if e.kind == entryFetchFail {
		err = &FetchError{URL: q.url, Err: err}
	}
	return &fetched{err: err, until: until}, true
}

// fetchNow fetches q's answer, authenticates it and records the outcome
// in memory and on disk, unless ctx was cancelled (a cancelled caller, or
// another source that answered first, says nothing about the URL).
func (c *Checker) fetchNow(ctx context.Context, q query) *fetched {
	b, err := c.do(ctx, q.url, q.body)
	now := c.clock()
	f := &fetched{err: err, until: now.Add(failureTTL)}
	e := diskEntry{kind: entryFetchFail, fetched: now}
	if err == nil {
		if f.val, f.until, f.err = q.check(b, now); f.err != nil {
			f.until = now.Add(failureTTL)
			e.kind, e.body = entryCheckFail, clipText(f.err.Error())
		} else {
			e.kind, e.body = entryAnswer, b
		}
	} else {
		var fe *FetchError
		if errors.As(err, &fe) {
			err = fe.Err
		}
		e.body = clipText(err.Error())
	}
	if ctx.Err() != nil {
		return f
	}
	c.remember(q.key, f)
	if d := c.diskCache(); d != nil {
		e.until = f.until
		d.put(q.key, e)
	}
	return f
}

// clipText bounds an error text kept on disk.
func clipText(s string) []byte {
	if len(s) > maxFailText {
		s = s[:maxFailText-3] + "..."
	}
	return []byte(s)
}

// crlScope is what an issuingDistributionPoint extension (RFC 5280
// section 5.2.5) restricts a CRL to.
type crlScope struct {
	onlyUser, onlyCA bool
	// dp is set when the extension names the distribution point: the
	// CRL then covers only the certificates whose CRL distribution
	// points include one of dpURIs (RFC 5280 section 6.3.3 (b)(2)(i)).
	dp     bool
	dpURIs []string
}

// covers says why the CRL does not cover cert, or nil.
func (s crlScope) covers(cert *x509.Certificate) error {
	switch {
	case s.onlyUser && cert.IsCA:
		return errors.New("covers end-entity certificates only (issuingDistributionPoint), and this is a CA certificate")
	case s.onlyCA && !cert.IsCA:
		return errors.New("covers CA certificates only (issuingDistributionPoint), and this is an end-entity certificate")
	case s.dp && !slices.ContainsFunc(cert.CRLDistributionPoints, func(u string) bool { return slices.Contains(s.dpURIs, u) }):
		return errors.New("is the CRL of another distribution point (its issuingDistributionPoint names none of the certificate's CRL distribution points)")
	}
	return nil
}

var (
	oidCRLIssuingDP = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidCRLNumber    = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidCRLAKI       = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// crlScopeOf checks that rl, fetched from url, is a complete CRL for the
// certificates that name url (RFC 5280 section 6.3.3 (b)): every critical
// extension understood (section 5.2: a delta CRL, or an indirect CRL's
// certificateIssuer entries, must not be read as a complete CRL), and an
// issuingDistributionPoint, if any, naming url among its full names,
// covering every reason, not indirect and not for attribute certificates.
// Whoever answers a plain-http CRL URL can otherwise return another
// authentic CRL of the same issuer (another shard) that does not list the
// certificate. The end-entity/CA restriction depends on the certificate:
// crlScope.covers.
func crlScopeOf(rl *x509.RevocationList, url string) (crlScope, error) {
	scope, err := parseCRLScope(rl)
	if err == nil && scope.dp && !slices.Contains(scope.dpURIs, url) {
		err = fmt.Errorf("is the CRL of another distribution point (its issuingDistributionPoint does not name %s)", url)
	}
	return scope, err
}

// parseCRLScope makes the checks of crlScopeOf that do not depend on where
// the CRL came from (a local CRL file has no URL): critical extensions
// understood, an issuingDistributionPoint of a scope tlsmail can apply.
// Which distribution points the CRL covers is left in the scope, for
// crlScope.covers.
func parseCRLScope(rl *x509.RevocationList) (crlScope, error) {
	var scope crlScope
	for _, e := range rl.RevokedCertificateEntries {
		for _, x := range e.Extensions {
			if x.Critical {
				return scope, fmt.Errorf("has an entry with the critical extension %v, which tlsmail does not process (RFC 5280 section 5.3)", x.Id)
			}
		}
	}
	for _, x := range rl.Extensions {
		switch {
		case x.Id.Equal(oidCRLIssuingDP):
			var err error
			if scope, err = parseIssuingDP(x.Value); err != nil {
				return scope, err
			}
		case x.Critical && !x.Id.Equal(oidCRLNumber) && !x.Id.Equal(oidCRLAKI):
			return scope, fmt.Errorf("has the critical extension %v, which tlsmail does not process (a delta CRL is 2.5.29.27; RFC 5280 section 5.2)", x.Id)
		}
	}
	return scope, nil
}

// parseIssuingDP reads an issuingDistributionPoint (RFC 5280 section
// 5.2.5) and refuses any scope narrower than "the certificates that name
// one of its distribution point's URIs", except the end-entity/CA
// restriction; it returns the scope.
func parseIssuingDP(v []byte) (crlScope, error) {
	var scope crlScope
	in := cryptobyte.String(v)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return scope, errors.New("has a malformed issuingDistributionPoint")
	}
	flag := func(tag int) (bool, error) {
		t := cbasn1.Tag(tag).ContextSpecific()
		if !seq.PeekASN1Tag(t) {
			return false, nil
		}
		var b cryptobyte.String
		if !seq.ReadASN1(&b, t) || len(b) != 1 {
			return false, errors.New("has a malformed issuingDistributionPoint")
		}
		return b[0] != 0, nil
	}
	if dpTag := cbasn1.Tag(0).Constructed().ContextSpecific(); seq.PeekASN1Tag(dpTag) {
		var dp, names cryptobyte.String
		if !seq.ReadASN1(&dp, dpTag) || !dp.ReadASN1(&names, cbasn1.Tag(0).Constructed().ContextSpecific()) || !dp.Empty() {
			return scope, errors.New("has an issuingDistributionPoint that names no full name (a name relative to the issuer is not supported)")
		}
		scope.dp = true
		for !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				return scope, errors.New("has a malformed issuingDistributionPoint")
			}
			if tag == cbasn1.Tag(6).ContextSpecific() {
				scope.dpURIs = append(scope.dpURIs, string(name))
			}
		}
	}
	var err error
	if scope.onlyUser, err = flag(1); err != nil {
		return scope, err
	}
	if scope.onlyCA, err = flag(2); err != nil {
		return scope, err
	}
	if seq.PeekASN1Tag(cbasn1.Tag(3).ContextSpecific()) {
		return scope, errors.New("covers some revocation reasons only (issuingDistributionPoint onlySomeReasons), which tlsmail does not combine")
	}
	if indirect, err := flag(4); err != nil || indirect {
		return scope, errors.New("is an indirect CRL, which tlsmail does not process")
	}
	if attr, err := flag(5); err != nil || attr {
		return scope, errors.New("covers attribute certificates only")
	}
	if !seq.Empty() {
		return scope, errors.New("has a malformed issuingDistributionPoint")
	}
	return scope, nil
}
