package trust

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// disagreeing is a leaf whose CRL (an authentic, current CRL of its
// issuer that does not list it) says good and whose OCSP responder (an
// authentic, current response) says revoked. The OCSP responder answers
// only after the CRL's answer has been sent, so the good answer is the
// first to arrive.
type disagreeing struct {
	root, ia *testpki.Authority
	leaf     *testpki.Leaf
	srv      *rawHTTP
	crlDER   []byte
	ocspDER  []byte
}

func newDisagreeing(t *testing.T) *disagreeing {
	t.Helper()
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	d := &disagreeing{}
	var err error
	d.root, d.ia = newRootAndIssuer(t)
	crlSent := make(chan struct{})
	d.srv = newRawHTTP(t, func(c net.Conn, r *seenRequest) {
		var der []byte
		switch {
		case strings.HasPrefix(r.line, "GET /crl "):
			der = d.crlDER
			defer close(crlSent)
		case strings.HasPrefix(r.line, "POST /ocsp "):
			select {
			case <-crlSent:
				// Let the good answer reach the verifier first (the
				// order only matters before the fix: after it, the
				// outcome does not depend on the order).
				time.Sleep(300 * time.Millisecond)
			case <-time.After(20 * time.Second):
			}
			der = d.ocspDER
		default:
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(der))
		c.Write(der)
	})
	if d.leaf, err = d.ia.Issue(testpki.Options{DNSNames: []string{"localhost"},
		CRLDistributionPoints: []string{d.srv.URL + "/crl"}, OCSPServer: []string{d.srv.URL + "/ocsp"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if d.crlDER, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, d.ia.Cert, d.ia.Key); err != nil {
		t.Fatal(err)
	}
	if d.ocspDER, err = ocsp.CreateResponse(d.ia.Cert, d.ia.Cert, ocsp.Response{Status: ocsp.Revoked,
		SerialNumber: d.leaf.Cert.SerialNumber, RevokedAt: now.Add(-time.Minute), RevocationReason: ocsp.KeyCompromise,
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, d.ia.Key); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRevokedBeatsGood: when one authentic source says good and another
// says revoked, the certificate is revoked, whichever answered first and
// whether the answers came from the network or the cache. A fast good
// answer must not hide a revocation.
func TestRevokedBeatsGood(t *testing.T) {
	for _, mode := range []RevocationMode{RevocationSoft, RevocationStrict} {
		t.Run("network/"+string(mode), func(t *testing.T) {
			d := newDisagreeing(t)
			opts := Options{Roots: d.root.Pool(), Name: "localhost", Revocation: mode, Checker: &Checker{CacheDir: t.TempDir()}}
			r := Verify(d.leaf.Chain, opts)
			checkInvariants(t, d.leaf.Chain, opts, r)
			if !r.Has(KindRevoked) || r.Revocation[0].Status != StatusRevoked {
				t.Errorf("the CRL's good answer hid the OCSP revocation: %v %+v", r.Problems, r.Revocation)
			}
		})
	}
	t.Run("cache", func(t *testing.T) {
		d := newDisagreeing(t)
		c := &Checker{CacheDir: t.TempDir()}
		// Both answers are cached (asked for one by one, the CRL first).
		if _, err := c.CRL(context.Background(), d.srv.URL+"/crl", d.ia.Cert); err != nil {
			t.Fatal(err)
		}
		if _, err := c.OCSP(context.Background(), d.srv.URL+"/ocsp", d.leaf.Cert, d.ia.Cert); err != nil {
			t.Fatal(err)
		}
		for _, checker := range []*Checker{c, {CacheDir: c.CacheDir}} {
			opts := Options{Roots: d.root.Pool(), Name: "localhost", Checker: checker}
			r := Verify(d.leaf.Chain, opts)
			if !r.Has(KindRevoked) || r.Revocation[0].Status != StatusRevoked {
				t.Errorf("the cached CRL's good answer hid the cached OCSP revocation: %v %+v", r.Problems, r.Revocation)
			}
		}
		if n := len(d.srv.requests()); n != 2 {
			t.Errorf("%d requests, want the 2 that filled the cache", n)
		}
	})
}

// TestRevocationCacheEnv: TLSMAIL_REVOCATION_CACHE names the default
// directory, or turns the default on-disk cache off.
func TestRevocationCacheEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(RevocationCacheEnv, dir)
	if got, err := DefaultRevocationCacheDir(); err != nil || got != dir {
		t.Errorf("got %q, %v; want %q", got, err, dir)
	}
	s := revocationScenario(t, "revocation-good")
	verifyGood(t, s, &Checker{})
	if ents, _ := os.ReadDir(dir); len(ents) == 0 {
		t.Error("nothing written in the directory the variable names")
	}
	t.Setenv(RevocationCacheEnv, "off")
	if got, err := DefaultRevocationCacheDir(); err == nil {
		t.Errorf("off gave %q", got)
	}
	c := &Checker{}
	verifyGood(t, s, c)
	if c.diskCache() != nil {
		t.Error("a disk cache with the variable off")
	}
}

// TestCacheDirectorySwapped: the cache directory is checked once, when a
// Checker first uses it; someone who can rename it (the owner of a parent
// directory, say a shared $XDG_CACHE_HOME) then replaces it with a
// symbolic link to another directory of the user. The Checker must keep
// using the directory it checked: it must neither write there nor evict
// files from the other directory.
func TestCacheDirectorySwapped(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "revocation")
	c := &Checker{CacheDir: dir, CacheEntries: 1}
	s1 := revocationScenario(t, "revocation-good")
	verifyGood(t, s1, c)

	elsewhere := t.TempDir()
	victim := filepath.Join(elsewhere, strings.Repeat("ab", 32)) // a name the eviction would take
	if err := os.WriteFile(victim, []byte("the user's own data"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-24 * time.Hour)
	os.Chtimes(victim, old, old)
	if err := os.Rename(dir, filepath.Join(parent, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}

	s2 := revocationScenario(t, "revocation-good")
	verifyGood(t, s2, c)
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("a file outside the cache directory was evicted: %v", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the Checker wrote through the swapped-in link: %v", names)
	}
}

// TestNoNextUpdateNotForever: an OCSP response or CRL that names no
// nextUpdate says that newer information is available at any time (RFC
// 6960 section 4.2.2.1): an old one (here a month old, replayed by
// whoever sits on the plain-http path) is not a current good status, and
// one fetched now is not reused for long.
func TestNoNextUpdateNotForever(t *testing.T) {
	t.Setenv("http_proxy", "")
	t.Setenv("HTTP_PROXY", "")
	root, ia := newRootAndIssuer(t)
	var body []byte
	srv := newRawHTTP(t, func(c net.Conn, r *seenRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
		c.Write(body)
	})
	month := time.Now().Add(-30 * 24 * time.Hour)
	for _, kind := range []string{"ocsp", "crl"} {
		t.Run(kind, func(t *testing.T) {
			o := testpki.Options{DNSNames: []string{"localhost"}}
			if kind == "ocsp" {
				o.OCSPServer = []string{srv.URL + "/ocsp"}
			} else {
				o.CRLDistributionPoints = []string{srv.URL + "/crl"}
			}
			leaf, err := ia.Issue(o)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "ocsp" {
				body, err = ocsp.CreateResponse(ia.Cert, ia.Cert, ocsp.Response{Status: ocsp.Good,
					SerialNumber: leaf.Cert.SerialNumber, ThisUpdate: month}, ia.Key)
			} else {
				body, err = crlWithoutNextUpdate(ia, month)
			}
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Roots: root.Pool(), Name: "localhost", Revocation: RevocationStrict, Checker: &Checker{NoDiskCache: true}}
			r := Verify(leaf.Chain, opts)
			if len(r.Revocation) == 0 || r.Revocation[0].Status == StatusGood {
				t.Errorf("a month-old answer without nextUpdate gave a good status: %v %+v", r.Problems, r.Revocation)
			}
		})
	}
}

// crlWithoutNextUpdate is a CRL of ia that names no nextUpdate (which
// x509.CreateRevocationList refuses to make), signed with ECDSA-SHA256.
func crlWithoutNextUpdate(ia *testpki.Authority, this time.Time) ([]byte, error) {
	sigAlg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}
	var issuer pkix.RDNSequence
	if _, err := asn1.Unmarshal(ia.Cert.RawSubject, &issuer); err != nil {
		return nil, err
	}
	tbs, err := asn1.Marshal(pkix.TBSCertificateList{Version: 1, Signature: sigAlg,
		Issuer: issuer, ThisUpdate: this.UTC()})
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(tbs)
	sig, err := ia.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		TBS    asn1.RawValue
		Alg    pkix.AlgorithmIdentifier
		Signed asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, sigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
}

// TestReuseUntil: how long a fetched answer is reused.
func TestReuseUntil(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name             string
		this, next, want time.Time
	}{
		{"nextUpdate", now.Add(-time.Hour), now.Add(2 * time.Hour), now.Add(2 * time.Hour)},
		{"nextUpdate beyond a week", now, now.Add(30 * 24 * time.Hour), now.Add(maxAnswerAge)},
		{"no nextUpdate, fresh", now, time.Time{}, now.Add(maxCacheAge)},
		{"no nextUpdate, nearly a day old", now.Add(-noNextUpdateLife + 10*time.Minute), time.Time{}, now.Add(10 * time.Minute)},
		{"no nextUpdate, a month old", now.Add(-30 * 24 * time.Hour), time.Time{}, now.Add(-29 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		if got := reuseUntil(tt.this, tt.next, now); !got.Equal(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRevocationNoGoroutineLeak: the fetches a revocation answer cancels,
// and those of a verification whose context ends, return: the number of
// goroutines comes back to what it was (a goleak-style count).
func TestRevocationNoGoroutineLeak(t *testing.T) {
	root, ia := newRootAndIssuer(t)
	leaf, err := ia.Issue(testpki.Options{DNSNames: []string{"localhost"},
		CRLDistributionPoints: []string{"http://crl.invalid/1", "http://crl.invalid/2"}, OCSPServer: []string{"http://ocsp.invalid/"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	revoked, err := ocsp.CreateResponse(ia.Cert, ia.Cert, ocsp.Response{Status: ocsp.Revoked, SerialNumber: leaf.Cert.SerialNumber,
		RevokedAt: now.Add(-time.Hour), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, ia.Key)
	if err != nil {
		t.Fatal(err)
	}
	var ocspOn = true
	fetch := func(ctx context.Context, method, url, contentType string, body []byte) ([]byte, error) {
		if strings.HasPrefix(url, "http://ocsp.") && ocspOn {
			return revoked, nil
		}
		<-ctx.Done() // a responder that never answers
		return nil, ctx.Err()
	}
	before := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		// The OCSP revocation cancels the two stalled CRL fetches.
		c := &Checker{NoDiskCache: true, Timeout: time.Hour, Fetch: fetch}
		if r := Verify(leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c}); !r.Has(KindRevoked) {
			t.Fatalf("%v", r.Problems)
		}
	}
	ocspOn = false
	for i := 0; i < 10; i++ {
		// Nothing answers; the caller's context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		c := &Checker{NoDiskCache: true, Timeout: time.Hour, Fetch: fetch}
		VerifyContext(ctx, leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c})
		cancel()
	}
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before, %d after: fetches outlived their verification", before, n)
	}
}

// TestCheckerMemoryBytesBounded: the in-memory cache is bounded in bytes,
// not only in entries: a long-running process (a queue worker, a library
// user with the DefaultChecker) that meets servers naming many large CRLs
// (anyone's server may name URLs serving CRLs of its own CA, up to MaxSize
// each) keeps at most maxMemBytes of answers.
func TestCheckerMemoryBytesBounded(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	big1MB, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: make([]byte, 1<<20)}}},
		root.Cert, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{NoDiskCache: true, Fetch: func(context.Context, string, string, string, []byte) ([]byte, error) {
		return big1MB, nil
	}}
	n := 2*maxMemBytes/len(big1MB) + 1
	for i := 0; i < n; i++ {
		if _, err := c.CRL(context.Background(), fmt.Sprintf("http://crl.invalid/%d", i), root.Cert); err != nil {
			t.Fatal(err)
		}
	}
	var total int
	for _, f := range c.cache {
		if rl, ok := f.val.(*x509.RevocationList); ok {
			total += len(rl.Raw)
		}
	}
	if total > maxMemBytes {
		t.Errorf("%d bytes of CRLs held in memory after %d fetches of %d bytes, want at most %d", total, n, len(big1MB), maxMemBytes)
	}
	// The latest answer is still at hand.
	last := crlQuery(fmt.Sprintf("http://crl.invalid/%d", n-1), root.Cert).key
	if _, ok := c.cache[last]; !ok {
		t.Error("the latest answer was dropped")
	}
}

// TestFutureAnswerNotKept: an answer dated in the future (a responder
// whose clock ran ahead) is refused, and remembered only as a failure (for
// failureTTL), not kept as an answer until its nextUpdate: once the
// responder serves a correct answer, a later verification takes it.
func TestFutureAnswerNotKept(t *testing.T) {
	root, ia := newRootAndIssuer(t)
	for _, kind := range []string{"ocsp", "crl"} {
		t.Run(kind, func(t *testing.T) {
			o := testpki.Options{DNSNames: []string{"localhost"}}
			if kind == "ocsp" {
				o.OCSPServer = []string{"http://ocsp.invalid/"}
			} else {
				o.CRLDistributionPoints = []string{"http://crl.invalid/"}
			}
			leaf, err := ia.Issue(o)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			answer := func(this time.Time) []byte {
				var der []byte
				var err error
				if kind == "ocsp" {
					der, err = ocsp.CreateResponse(ia.Cert, ia.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: leaf.Cert.SerialNumber,
						ThisUpdate: this, NextUpdate: now.Add(6 * 24 * time.Hour)}, ia.Key)
				} else {
					der, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
						ThisUpdate: this, NextUpdate: now.Add(6 * 24 * time.Hour)}, ia.Cert, ia.Key)
				}
				if err != nil {
					t.Fatal(err)
				}
				return der
			}
			serve := answer(now.Add(2 * time.Hour)) // the responder's clock is two hours ahead
			fetches := 0
			fetch := func(context.Context, string, string, string, []byte) ([]byte, error) {
				fetches++
				return serve, nil
			}
			dir := t.TempDir()
			c1 := &Checker{CacheDir: dir, Fetch: fetch}
			r := Verify(leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c1})
			if len(r.Revocation) == 0 || r.Revocation[0].Status == StatusGood {
				t.Fatalf("a future-dated answer gave %v %+v", r.Problems, r.Revocation)
			}
			// The responder's clock is fixed; ten minutes later another
			// process verifies.
			serve = answer(now.Add(-time.Minute))
			c2 := &Checker{CacheDir: dir, Fetch: fetch}
			c2.now = func() time.Time { return now.Add(10 * time.Minute) }
			r = Verify(leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c2})
			if len(r.Revocation) == 0 || r.Revocation[0].Status != StatusGood {
				t.Errorf("the future-dated answer was kept: %v %+v (%d fetches)", r.Problems, r.Revocation, fetches)
			}
		})
	}
}

var (
	oidIDP        = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidDeltaCRL   = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidUnknownExt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}
)

// idpExt is an issuingDistributionPoint extension (RFC 5280 section
// 5.2.5) naming uri (none when empty), with the onlyContainsUserCerts [1]
// or onlyContainsCACerts [2] flag when flag is 1 or 2.
func idpExt(uri string, flag int) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if uri != "" {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
				})
			})
		}
		if flag != 0 {
			b.AddASN1(cbasn1.Tag(flag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
		}
	})
	return pkix.Extension{Id: oidIDP, Critical: true, Value: b.BytesOrPanic()}
}

// TestCRLScope: a CRL is used only for the certificates it covers (RFC
// 5280 section 6.3.3 (b)) and only when every critical extension is
// understood (section 5.2). Whoever sits on the plain-http path may
// answer a CRL URL with another authentic, current CRL of the same issuer:
// the shard of another distribution point, a delta CRL, the CRL of the
// CA certificates only. None of them lists the revoked leaf, and none may
// say it is good.
func TestCRLScope(t *testing.T) {
	root, ia := newRootAndIssuer(t)
	const url = "http://crl.invalid/shard1.crl"
	leaf, err := ia.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name string
		exts []pkix.Extension
		good bool
	}{
		{"its own shard", []pkix.Extension{idpExt(url, 0)}, true},
		{"user certificates only", []pkix.Extension{idpExt(url, 1)}, true},
		{"no IDP", nil, true},
		{"another shard", []pkix.Extension{idpExt("http://crl.invalid/shard2.crl", 0)}, false},
		{"CA certificates only", []pkix.Extension{idpExt("", 2)}, false},
		{"delta CRL", []pkix.Extension{{Id: oidDeltaCRL, Critical: true, Value: []byte{2, 1, 1}}}, false},
		{"unknown critical extension", []pkix.Extension{{Id: oidUnknownExt, Critical: true, Value: []byte{5, 0}}}, false},
		{"unknown non-critical extension", []pkix.Extension{{Id: oidUnknownExt, Value: []byte{5, 0}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
				ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour), ExtraExtensions: tt.exts}, ia.Cert, ia.Key)
			if err != nil {
				t.Fatal(err)
			}
			if good := verifyFetched(t, leaf.Chain, root, der); good != tt.good {
				t.Errorf("good=%v, want %v", good, tt.good)
			}
		})
	}
}

// TestOCSPExpiredResponder: a response signed by a delegated responder
// (RFC 6960 section 4.2.2.2) counts only while the responder's certificate
// is valid: the key of an expired one may no longer be guarded, and a
// response it signs can be dated back into its validity and name any
// nextUpdate.
func TestOCSPExpiredResponder(t *testing.T) {
	root, ia := newRootAndIssuer(t)
	leaf, err := ia.Issue(testpki.Options{DNSNames: []string{"localhost"}, OCSPServer: []string{"http://ocsp.invalid/"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tt := range []struct {
		name      string
		notBefore time.Time
		notAfter  time.Time
		good      bool
	}{
		{"valid responder", now.Add(-time.Hour), now.Add(time.Hour), true},
		{"expired responder", now.Add(-60 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour), false},
		{"responder not yet valid", now.Add(24 * time.Hour), now.Add(48 * time.Hour), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ia.Issue(testpki.Options{CommonName: "OCSP responder", NotBefore: tt.notBefore, NotAfter: tt.notAfter,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
			if err != nil {
				t.Fatal(err)
			}
			der, err := ocsp.CreateResponse(ia.Cert, resp.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: leaf.Cert.SerialNumber,
				ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour), Certificate: resp.Cert}, resp.Key)
			if err != nil {
				t.Fatal(err)
			}
			if good := verifyFetched(t, leaf.Chain, root, der); good != tt.good {
				t.Errorf("good=%v, want %v", good, tt.good)
			}
			// The same as a staple.
			r := Verify(leaf.Chain, Options{Roots: root.Pool(), Name: "localhost", StapledOCSP: der, Checker: &Checker{NoDiskCache: true}})
			if good := len(r.Revocation) > 0 && r.Revocation[0].Status == StatusGood; good != tt.good {
				t.Errorf("stapled: good=%v, want %v: %+v", good, tt.good, r.Revocation)
			}
		})
	}
}

// newRootAndIssuer is a root and an intermediate it signed (the issuer of
// the leaves the revocation tests check).
func newRootAndIssuer(t *testing.T) (root, ia *testpki.Authority) {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ia, err = root.NewIntermediate(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return root, ia
}

// verifyFetched verifies chain (for "localhost", under root) with a Checker
// whose every fetch answers der, and says whether the first revocation
// result is a good status; it fails the test when there is none.
func verifyFetched(t *testing.T, chain []*x509.Certificate, root *testpki.Authority, der []byte) bool {
	t.Helper()
	c := &Checker{NoDiskCache: true, Fetch: func(context.Context, string, string, string, []byte) ([]byte, error) { return der, nil }}
	r := Verify(chain, Options{Roots: root.Pool(), Name: "localhost", Checker: c})
	if len(r.Revocation) == 0 {
		t.Fatalf("no revocation result: %v", r.Problems)
	}
	t.Logf("revocation: %+v", r.Revocation[0])
	return r.Revocation[0].Status == StatusGood
}
