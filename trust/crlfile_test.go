package trust

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestLocalCRLs: a CRL given in Options.CRLs (msmtp's tls_crl_file) that
// the leaf's issuer signed and that lists the leaf makes it revoked, with
// the revocation check off; one listing another serial, or one that a
// different key signed under the same name, changes nothing. ParseCRLs
// reads PEM and DER files and refuses others.
func TestLocalCRLs(t *testing.T) {
	p, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.Root.Cert)
	leaf := p.Server.Cert
	now := time.Now()
	crl := func(signer *testpki.Authority, serial *big.Int) []byte {
		tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial, RevocationTime: now.Add(-time.Minute), ReasonCode: 1}}}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, p.Intermediate.Cert, signer.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	forged := &testpki.Authority{Cert: p.Intermediate.Cert, Key: testpki.NewKey()}
	for _, tc := range []struct {
		name    string
		file    []byte
		revoked bool
	}{
		{"lists the leaf, PEM", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl(p.Intermediate, leaf.SerialNumber)}), true},
		{"lists the leaf, DER", crl(p.Intermediate, leaf.SerialNumber), true},
		{"another serial", crl(p.Intermediate, big.NewInt(12345)), false},
		{"signed by another key", crl(forged, leaf.SerialNumber), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crls, err := ParseCRLs(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			r := Verify(p.Server.Chain, Options{Roots: roots, Name: "localhost", Revocation: RevocationOff, CRLs: crls})
			if r.Has(KindRevoked) != tc.revoked || r.OK() == tc.revoked {
				t.Errorf("revoked %v, OK %v; want revoked %v: %v", r.Has(KindRevoked), r.OK(), tc.revoked, r.Errors())
			}
		})
	}
	if _, err := ParseCRLs([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")); err == nil {
		t.Error("a file without a CRL was accepted")
	}
}
