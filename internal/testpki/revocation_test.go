package testpki

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"golang.org/x/crypto/ocsp"
)

func TestResponder(t *testing.T) {
	for _, v := range RevocationVariants() {
		t.Run(v, func(t *testing.T) {
			s, err := NewRevocationScenario(v)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := s.Responder
			issuer := s.Chain[1]
			resp, err := http.Get(r.CRLURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if v == "revocation-unknown" {
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("failing responder answered %s", resp.Status)
				}
				return
			}
			rl, err := x509.ParseRevocationList(body)
			if err != nil {
				t.Fatal(err)
			}
			if err := rl.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("CRL signature: %v", err)
			}
			revoked := len(rl.RevokedCertificateEntries) == 1 && rl.RevokedCertificateEntries[0].SerialNumber.Cmp(s.Leaf().SerialNumber) == 0
			if revoked != (s.Kind == "revoked") {
				t.Errorf("CRL entries %v", rl.RevokedCertificateEntries)
			}
			req, err := ocsp.CreateRequest(s.Leaf(), issuer, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err = http.Post(r.OCSPURL, "application/ocsp-request", bytes.NewReader(req))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			or, err := ocsp.ParseResponseForCert(body, s.Leaf(), issuer)
			if err != nil {
				t.Fatal(err)
			}
			if (or.Status == ocsp.Revoked) != (s.Kind == "revoked") {
				t.Errorf("OCSP status %d", or.Status)
			}
			if r.Hits("/crl") != 1 || r.Hits("/ocsp") != 1 {
				t.Errorf("hits %d %d", r.Hits("/crl"), r.Hits("/ocsp"))
			}
			if (s.Staple != nil) != (v == "revoked-staple") {
				t.Errorf("staple %v", s.Staple != nil)
			}
		})
	}
}
