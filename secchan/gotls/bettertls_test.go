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
	refs, want := s.All(), 9572
	if runtime.GOOS == "windows" {
		// Under Wine (scripts/wine-test.sh) and on the native Windows job the
		// provider is the same Go code: the Linux run covers every case, and a
		// sample shows nothing differs on Windows. All 9,572 under Wine take
		// 90 s of the test command's budget.
		refs = append(s.Sample(200), testbettertls.Ref{Suite: testbettertls.NameConstraints, Index: 6})
		want = len(refs)
	}
	res := secchantest.BetterTLS(t, gotls.Provider{}, s, refs, secchantest.BetterTLSOptions{Workers: 2 * runtime.GOMAXPROCS(0)})
	for _, suite := range []string{testbettertls.NameConstraints, testbettertls.PathBuilding} {
		t.Logf("%s: %d of %d cases agree with BetterTLS, every refusal named", suite, res.Agree[suite], res.Cases[suite])
	}
	t.Logf("%d refused, %d of them for a certificate crypto/x509 cannot parse", res.Refused, res.Unparseable)
	if n := res.Cases[testbettertls.NameConstraints] + res.Cases[testbettertls.PathBuilding]; n != len(refs) || n != want {
		t.Errorf("ran %d cases, want %d (all 9572 of the pinned version on Linux)", n, want)
	}
	if res.Unparseable == 0 {
		t.Error("no case had a certificate crypto/x509 cannot parse: that path went untested")
	}
}
