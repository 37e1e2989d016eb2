package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestPathSearchIsBounded: a chain of cross-certificates that all share one
// name, each CA key certified by every other, has more issuer paths than
// can be tried (their number grows factorially with the certificates); the
// search that looks for the path to a trusted root stops after
// maxPathSearch certificates and the chain is still diagnosed, promptly.
func TestPathSearchIsBounded(t *testing.T) {
	t.Parallel()
	const keys = 7
	now := time.Now()
	name := pkix.Name{CommonName: "Same Name CA"}
	var ks []*ecdsa.PrivateKey
	var tmpls []*x509.Certificate
	for i := 0; i < keys; i++ {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
		tmpls = append(tmpls, &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: name,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign})
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1000),
		Subject: pkix.Name{CommonName: "leaf"}, DNSNames: []string{"mail.example.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}, tmpls[0], &leafKey.PublicKey, ks[0])
	if err != nil {
		t.Fatal(err)
	}
	ders := [][]byte{leafDER}
	for i := 0; i < keys; i++ {
		for j := 0; j < keys; j++ {
			if i == j {
				continue // not self-signed: every path goes on
			}
			tmpl := *tmpls[i]
			tmpl.SerialNumber = big.NewInt(int64(100*i + j))
			d, err := x509.CreateCertificate(rand.Reader, &tmpl, tmpls[j], &ks[i].PublicKey, ks[j])
			if err != nil {
				t.Fatal(err)
			}
			ders = append(ders, d)
		}
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(5000),
		Subject: pkix.Name{CommonName: "Unrelated Root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, &x509.Certificate{SerialNumber: big.NewInt(5000),
		Subject: pkix.Name{CommonName: "Unrelated Root"}}, &other.PublicKey, other)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)

	done := make(chan Report, 1)
	go func() {
		done <- VerifyDER(t.Context(), ders, Options{Roots: roots, Name: "mail.example.com", Revocation: RevocationOff})
	}()
	select {
	case r := <-done:
		if r.OK() || r.unexplained || !r.Has(KindUntrustedRoot) {
			t.Errorf("want the chain refused as untrusted-root, explained; got %v", r.Problems)
		}
		if len(r.PathIndex) == 0 || len(r.PathIndex) > maxPathSearch {
			t.Errorf("path %v", r.PathIndex)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the path search over %d cross-certificates did not finish", len(ders)-1)
	}
}
