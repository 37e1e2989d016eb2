package trust

import (
	"crypto/x509"
	"testing"
)

// TestUntrustedChainFetchesNothing: the revocation URLs (CRL distribution
// points, OCSP responders) of a chain that ends in no trusted root are the
// server's word alone: any server (one a shared queue's row names, with no
// secret at stake) would make the client request addresses of its
// choosing, inside the client's network, for a chain that fails anyway.
// Such a chain is not checked online; a trusted one still is. Before, the
// untrusted chain's CRL was fetched.
func TestUntrustedChainFetchesNothing(t *testing.T) {
	for _, variant := range []string{"revocation-good", "revoked-ocsp"} {
		s := revocationScenario(t, variant)
		r := Verify(s.Chain, Options{Roots: x509.NewCertPool(), Name: "localhost", Checker: &Checker{}})
		if r.Trusted || r.OK() {
			t.Fatalf("%s: the chain verified with no roots", variant)
		}
		if n := s.Responder.Hits("/crl") + s.Responder.Hits("/ocsp"); n != 0 {
			t.Errorf("%s: %d requests to the untrusted chain's revocation URLs, want none", variant, n)
		}
		r = Verify(s.Chain, Options{Roots: s.Pool(), Name: "localhost", Checker: &Checker{}})
		if !r.Trusted {
			t.Fatalf("%s: the chain does not verify with its root", variant)
		}
		if n := s.Responder.Hits("/crl") + s.Responder.Hits("/ocsp"); n == 0 {
			t.Errorf("%s: the trusted chain's revocation was not checked online", variant)
		}
	}
}
