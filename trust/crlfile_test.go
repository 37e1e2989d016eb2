package trust

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestLocalCRLs: a CRL given in Options.CRLs (msmtp's tls_crl_file) that
// the leaf's issuer signed and that lists the leaf makes it revoked, with
// the revocation check off; one listing another serial, or one that a
// different key signed under the same name, changes nothing. ParseCRLs
// reads PEM and DER files and refuses others.
func TestLocalCRLs(t *testing.T) {
	p, roots := crlPKI(t)
	leaf := p.Server.Cert
	now := time.Now()
	crl := func(signer *testpki.Authority, serial *big.Int) []byte {
		return crlAt(t, p.Intermediate.Cert, signer, serial, now.Add(-time.Hour), now.Add(time.Hour))
	}
	stale := func(serial *big.Int) []byte {
		return crlAt(t, p.Intermediate.Cert, p.Intermediate, serial, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	}
	// scoped is a current CRL whose issuingDistributionPoint narrows it
	// (RFC 5280 section 5.2.5): the leaf names no CRL distribution point,
	// so a CRL of a named distribution point, or of CA certificates
	// only, does not cover it.
	scoped := func(serial *big.Int, ext pkix.Extension) []byte {
		return crlAt(t, p.Intermediate.Cert, p.Intermediate, serial, now.Add(-time.Hour), now.Add(time.Hour), ext)
	}
	forged := &testpki.Authority{Cert: p.Intermediate.Cert, Key: testpki.NewKey()}
	for _, tc := range []struct {
		name    string
		file    []byte
		revoked bool
		stale   bool // a revocation-unknown warning on the leaf
	}{
		{"lists the leaf, PEM", pemCRLs(crl(p.Intermediate, leaf.SerialNumber)), true, false},
		{"lists the leaf, DER", crl(p.Intermediate, leaf.SerialNumber), true, false},
		{"another serial", crl(p.Intermediate, big.NewInt(12345)), false, false},
		{"signed by another key", crl(forged, leaf.SerialNumber), false, false},
		{"past its next update, lists the leaf", stale(leaf.SerialNumber), true, false},
		{"past its next update, another serial", stale(big.NewInt(12345)), false, true},
		// A current CRL of the issuer covers what the stale one cannot
		// say: no warning (there was one before).
		{"a stale and a current one, another serial", pemCRLs(stale(big.NewInt(1)), crl(p.Intermediate, big.NewInt(2))), false, false},
		{"a current and a stale one, another serial", pemCRLs(crl(p.Intermediate, big.NewInt(2)), stale(big.NewInt(1))), false, false},
		// A current CRL that does not cover the leaf is no current CRL
		// for it (RFC 5280 section 6.3.3 (b)).
		{"a stale one and a current one of another distribution point", pemCRLs(stale(big.NewInt(1)), scoped(big.NewInt(2), idpExt("http://crl.invalid/shard2.crl", 0))), false, true},
		{"a stale one and a current one of CA certificates only", pemCRLs(stale(big.NewInt(1)), scoped(big.NewInt(2), idpExt("", 2))), false, true},
		// A CRL of the issuer that lists the leaf's serial revokes it
		// whatever its scope: a serial names one certificate of its
		// issuer (RFC 5280 section 4.1.2.2), and GnuTLS (msmtp) refuses
		// such a certificate. The scope says only what a CRL is complete
		// for (the rows above).
		{"CA certificates only, lists the leaf", scoped(leaf.SerialNumber, idpExt("", 2)), true, false},
		{"another distribution point, lists the leaf", scoped(leaf.SerialNumber, idpExt("http://crl.invalid/shard2.crl", 0)), true, false},
		{"end-entity certificates only, lists the leaf", scoped(leaf.SerialNumber, idpExt("", 1)), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crls, err := ParseCRLs(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second time, with the signature already checked
				r := Verify(p.Server.Chain, Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: crls})
				if r.Has(KindRevoked) != tc.revoked || r.OK() == tc.revoked {
					t.Errorf("revoked %v, OK %v; want revoked %v: %v", r.Has(KindRevoked), r.OK(), tc.revoked, r.Errors())
				}
				var warned bool
				for _, pr := range r.Problems {
					if pr.Kind == KindRevocationUnknown && pr.Cert == 0 {
						warned = true
						if pr.Severity != SeverityWarning || !strings.Contains(pr.Summary, "was due to be replaced") || !strings.Contains(pr.Fix, "tls_crl_file") {
							t.Errorf("stale CRL problem %+v", pr)
						}
					}
				}
				if warned != tc.stale {
					t.Errorf("revocation-unknown warning %v, want %v: %v", warned, tc.stale, r.Problems)
				}
			}
		})
	}
	if _, err := ParseCRLs([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")); err == nil {
		t.Error("a file without a CRL was accepted")
	}
	// What a fetched CRL is refused for (crlScopeOf), a CRL of the file
	// is refused for: it cannot be read as a complete CRL. Through
	// ParseCRLs and through NewCRL alike.
	for _, tc := range []struct {
		name string
		ext  pkix.Extension
		want string
	}{
		{"delta CRL", pkix.Extension{Id: oidDeltaCRL, Critical: true, Value: []byte{2, 1, 1}}, "2.5.29.27"},
		{"unknown critical extension", pkix.Extension{Id: oidUnknownExt, Critical: true, Value: []byte{5, 0}}, "critical extension"},
		{"indirect CRL", indirectIDP(), "indirect"},
	} {
		der := scoped(big.NewInt(1), tc.ext)
		if _, err := ParseCRLs(der); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCRLs(%s) = %v, want an error naming %q", tc.name, err, tc.want)
		}
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewCRL(rl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewCRL(%s) = %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// crlPKI is a root, an intermediate and a leaf for localhost
// (p.Server.Chain), and a pool that trusts the root.
func crlPKI(t testing.TB) (*testpki.PKI, *x509.CertPool) {
	t.Helper()
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.Root.Cert)
	return p, roots
}

// pemCRLs is a CRL file holding the DER CRLs ders, in PEM, in order.
func pemCRLs(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: d})...)
	}
	return out
}

// crlAt is a CRL of issuer, signed by signer's key, listing serial.
func crlAt(t testing.TB, issuer *x509.Certificate, signer *testpki.Authority, serial *big.Int, this, next time.Time, exts ...pkix.Extension) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: this, NextUpdate: next, ExtraExtensions: exts,
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial, RevocationTime: this.Add(time.Minute), ReasonCode: 1}}}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, signer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// bigCRL is a CRL of p's intermediate listing n random 16-byte serials
// (as public CAs draw them), and the leaf's serial last.
func bigCRL(t testing.TB, p *testpki.PKI, n int) []byte {
	t.Helper()
	now := time.Now()
	entries := make([]x509.RevocationListEntry, n, n+1)
	buf := make([]byte, 16)
	for i := range entries {
		rand.Read(buf)
		buf[0] &= 0x7f
		entries[i] = x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(buf), RevocationTime: now.Add(-time.Duration(i) * time.Second)}
	}
	entries = append(entries, x509.RevocationListEntry{SerialNumber: p.Server.Cert.SerialNumber, RevocationTime: now.Add(-time.Hour), ReasonCode: 1})
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: entries}, p.Intermediate.Cert, p.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// heapAfterGC is the live heap after a collection.
func heapAfterGC() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestLocalCRLMemory: a large CRL file is kept as a packed set of serials,
// not as the parsed x509.RevocationList (about ten times its DER: 224 MB
// were kept for a 25 MB CRL), and once its signature is checked the signed
// bytes are dropped too. With 100,000 entries of random 16-byte serials
// (3.5 MB of DER) what stays live must be under 2.5 times the DER before
// the first check (the set and the signed bytes: 1.9 measured) and 1.5
// times after it (the set: 0.9); the parsed list kept about 9 times the
// DER. The listed leaf is still found.
func TestLocalCRLMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 3.5 MB CRL")
	}
	p, roots := crlPKI(t)
	der := bigCRL(t, p, 100_000)
	base := heapAfterGC()
	crls, err := ParseCRLs(der)
	if err != nil {
		t.Fatal(err)
	}
	kept := heapAfterGC() - base
	t.Logf("CRL of %d bytes, %d entries: %d bytes kept after parsing (%.1f× the DER)", len(der), crls[0].Len(), kept, float64(kept)/float64(len(der)))
	if kept > 5*int64(len(der))/2 {
		t.Errorf("%d bytes kept for a CRL of %d bytes, want under 2.5 times its size", kept, len(der))
	}
	r := Verify(p.Server.Chain, Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: crls})
	if !r.Has(KindRevoked) {
		t.Errorf("the leaf listed last is not revoked: %v", r.Problems)
	}
	kept = heapAfterGC() - base
	t.Logf("%d bytes kept after the signature was checked (%.1f× the DER)", kept, float64(kept)/float64(len(der)))
	if kept > 3*int64(len(der))/2 {
		t.Errorf("%d bytes kept after the check for a CRL of %d bytes, want under 1.5 times its size", kept, len(der))
	}
	runtime.KeepAlive(crls)
	runtime.KeepAlive(der)
}

// BenchmarkParseCRLs measures parsing a CRL file of 100,000 entries and
// reports the bytes kept afterwards per byte of DER (kept/DER-byte).
func BenchmarkParseCRLs(b *testing.B) {
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	der := bigCRL(b, p, 100_000)
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	b.ResetTimer()
	var crls []*CRL
	for range b.N {
		if crls, err = ParseCRLs(der); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	crls = nil
	base := heapAfterGC()
	crls, _ = ParseCRLs(der)
	b.ReportMetric(float64(heapAfterGC()-base)/float64(len(der)), "kept/DER-byte")
	runtime.KeepAlive(crls)
	runtime.KeepAlive(der)
}

// TestLocalCRLStaleThroughCache: a verdict cached while the local CRL was
// current is not reused once the CRL is past its next update (its date is
// one of those the verdict depends on): the warning appears at once.
func TestLocalCRLStaleThroughCache(t *testing.T) {
	p, roots := crlPKI(t)
	now := time.Now()
	crls, err := ParseCRLs(crlAt(t, p.Intermediate.Cert, p.Intermediate, big.NewInt(4242), now.Add(-time.Hour), now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	cache := &Cache{}
	opts := Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: crls, Cache: cache, ExpiryWarning: -1}
	for _, tc := range []struct {
		at    time.Time
		stale bool
	}{{now, false}, {now.Add(time.Minute), false}, {now.Add(2 * time.Hour), true}} {
		opts.Time = tc.at
		r := Verify(p.Server.Chain, opts)
		if r.Has(KindRevocationUnknown) != tc.stale || !r.OK() {
			t.Errorf("at %s: stale warning %v, want %v; OK %v: %v", tc.at, r.Has(KindRevocationUnknown), tc.stale, r.OK(), r.Problems)
		}
	}
	if cache.hits != 1 {
		t.Errorf("%d cache hits, want 1 (the second verification)", cache.hits)
	}
}

// TestLocalCRLsEveryCertificate: a CRL file that lists both the leaf (in
// the intermediate's CRL) and the intermediate (in the root's) gets both
// named: the path's other certificates are still checked after a
// revoked one, as every problem is reported.
func TestLocalCRLsEveryCertificate(t *testing.T) {
	p, roots := crlPKI(t)
	now := time.Now()
	file := pemCRLs(crlAt(t, p.Intermediate.Cert, p.Intermediate, p.Server.Cert.SerialNumber, now.Add(-time.Hour), now.Add(time.Hour)),
		crlAt(t, p.Root.Cert, p.Root, p.Intermediate.Cert.SerialNumber, now.Add(-time.Hour), now.Add(time.Hour)))
	crls, err := ParseCRLs(file)
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(p.Server.Chain, Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: crls})
	revoked := map[int]bool{}
	for _, pr := range r.Problems {
		if pr.Kind == KindRevoked {
			revoked[pr.Cert] = true
		}
	}
	if !revoked[0] || !revoked[1] {
		t.Errorf("revoked certificates %v, want 0 and 1: %v", revoked, r.Problems)
	}
}

// TestSentNamesUnsent: with Options.Sent, a certificate after the ones the
// server sent (an intermediate a chain engine fetched) is named by its
// subject as one the server did not send, in the summary of its own
// problem, whether it is the subject of the sentence (a local CRL of the
// root revokes it) or its object (a stale CRL of the root does not list
// it): never by an index of the server's chain. Without Sent,
// or with Sent covering it, it is "certificate 1".
func TestSentNamesUnsent(t *testing.T) {
	p, roots := crlPKI(t)
	now := time.Now()
	revokesInter, err := ParseCRLs(crlAt(t, p.Root.Cert, p.Root, p.Intermediate.Cert.SerialNumber, now.Add(-time.Hour), now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	staleRoot, err := ParseCRLs(crlAt(t, p.Root.Cert, p.Root, big.NewInt(12345), now.Add(-48*time.Hour), now.Add(-24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{p.Server.Cert, p.Intermediate.Cert}
	unsent := "a certificate the server did not send (" + p.Intermediate.Cert.Subject.String() + ")"
	for _, tc := range []struct {
		name string
		sent int
		crls []*CRL
		kind Kind
		cert int
		want string // in the summary
	}{
		{"revoked, not sent", 1, revokesInter, KindRevoked, 1, unsent + " was revoked"},
		{"revoked, sent", 2, revokesInter, KindRevoked, 1, "certificate 1 (" + p.Intermediate.Cert.Subject.String() + ") was revoked"},
		{"revoked, Sent unset", 0, revokesInter, KindRevoked, 1, "certificate 1 ("},
		{"stale list of its issuer, not sent", 1, staleRoot, KindRevocationUnknown, 1, "does not list " + unsent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Verify(chain, Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: tc.crls, Sent: tc.sent})
			found := false
			for _, pr := range r.Problems {
				if pr.Kind != tc.kind || pr.Cert != tc.cert {
					continue
				}
				found = true
				if !strings.Contains(pr.Summary, tc.want) {
					t.Errorf("summary %q, want it to contain %q", pr.Summary, tc.want)
				}
				if tc.sent == 1 && strings.Contains(pr.Summary, "certificate 1") {
					t.Errorf("summary %q names the unsent certificate by index", pr.Summary)
				}
			}
			if !found {
				t.Fatalf("no %s problem on certificate %d: %v", tc.kind, tc.cert, r.Problems)
			}
		})
	}
}

// indirectIDP is an issuingDistributionPoint with indirectCRL [4] set.
func indirectIDP() pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(4).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
	})
	return pkix.Extension{Id: oidIDP, Critical: true, Value: b.BytesOrPanic()}
}
