package gotls_test

import (
	"runtime"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testbettertls"
	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestBetterTLS runs every case of the BetterTLS suites (nameconstraints
// and pathbuilding) through the provider, each in a real TLS handshake on
// loopback: the verdict must be BetterTLS's, and every refusal a
// *trust.Error naming why, as package trust names it for the same chain.
// The 65 leaves crypto/x509 cannot parse never reach package trust
// (crypto/tls ends the handshake first): they must still be refused as
// unparseable-certificate.
func TestBetterTLS(t *testing.T) {
	t.Parallel()
	s, err := testbettertls.New()
	if err != nil {
		t.Fatal(err)
	}
	refs := s.All()
	res := secchantest.BetterTLS(t, gotls.Provider{}, s, refs, secchantest.BetterTLSOptions{Workers: 2 * runtime.GOMAXPROCS(0)})
	for _, suite := range []string{testbettertls.NameConstraints, testbettertls.PathBuilding} {
		t.Logf("%s: %d of %d cases agree with BetterTLS, every refusal named", suite, res.Agree[suite], res.Cases[suite])
	}
	t.Logf("%d refused, %d of them for a certificate crypto/x509 cannot parse", res.Refused, res.Unparseable)
	if n := res.Cases[testbettertls.NameConstraints] + res.Cases[testbettertls.PathBuilding]; n != len(refs) || n != 9572 {
		t.Errorf("ran %d cases, want all %d (9572 in the pinned version)", n, len(refs))
	}
	if res.Unparseable == 0 {
		t.Error("no case had a certificate crypto/x509 cannot parse: that path went untested")
	}
}
