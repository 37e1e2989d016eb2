package trust_test

import (
	"fmt"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// A server that sends only its own certificate: the report names the
// missing intermediate and says what to change on the server.
func ExampleVerify() {
	pki, err := testpki.NewPKI(nil, nil)
	if err != nil {
		panic(err)
	}
	leafOnly := pki.Server.Chain[:1]
	r := trust.Verify(leafOnly, trust.Options{Roots: pki.Root.Pool(), Name: "localhost"})
	for _, p := range r.Problems {
		fmt.Println(p.Kind, p.Severity, p.Cert)
	}
	fmt.Println(r.OK())
	// Output:
	// missing-intermediate error 0
	// false
}

// Pins are SPKI hashes, "sha256/BASE64"; a malformed one is a *PinError.
func ExampleParsePin() {
	_, err := trust.ParsePin("sha1/AAAA")
	fmt.Println(err)
	// Output:
	// invalid pin "sha1/AAAA": unsupported hash "sha1" (only sha256 is used); a pin is "sha256/" followed by the base64 SHA-256 of the SubjectPublicKeyInfo (RFC 7469, 2.4)
}

// One Checker shared by every verification caches CRLs and OCSP responses
// for the life of the program: once it has the CA's CRL, a later
// verification needs no fetch, even with the CRL server gone. A new Checker
// would have to fetch it, and can only report the status unknown.
func ExampleChecker() {
	s, err := testpki.NewRevocationScenario("revoked") // a CRL server on loopback
	if err != nil {
		panic(err)
	}
	checker := &trust.Checker{}
	opts := trust.Options{Roots: s.Pool(), Name: s.Name, Revocation: trust.RevocationSoft, Checker: checker}
	fmt.Println(trust.Verify(s.Chain, opts).Has(trust.KindRevoked))
	s.Close() // the CRL server goes away
	fmt.Println(trust.Verify(s.Chain, opts).Has(trust.KindRevoked))
	opts.Checker = &trust.Checker{}
	r := trust.Verify(s.Chain, opts)
	fmt.Println(r.Has(trust.KindRevoked), r.Has(trust.KindRevocationUnknown))
	// Output:
	// true
	// true
	// false true
}

// A program that connects to the same server again and again keeps one
// Cache: the second verification of the same chain with the same options
// returns the same Report without redoing the work.
func ExampleCache() {
	pki, err := testpki.NewPKI(nil, testpki.LoopbackIPs())
	if err != nil {
		panic(err)
	}
	cache := &trust.Cache{}
	opts := trust.Options{Roots: pki.Root.Pool(), Name: "127.0.0.1", Cache: cache}
	for range 2 {
		r := trust.Verify(pki.Server.Chain, opts)
		fmt.Println(r.OK(), len(r.Path))
	}
	// Output:
	// true 3
	// true 3
}
