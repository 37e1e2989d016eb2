package schannel

import (
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testbettertls"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestBetterTLSSample runs every pathbuilding case and 100 nameconstraints
// cases spread evenly over that suite (always the same ones), plus
// nameconstraints case 6 (a
// leaf whose URI SAN crypto/x509 cannot parse), through Schannel with the
// suite's root given as the CA, so that package trust decides: the verdict
// must be BetterTLS's and every refusal name the same kinds as
// trust.VerifyDER. The gotls provider runs all 9,572 cases
// (secchan/gotls).
func TestBetterTLSSample(t *testing.T) {
	s, err := testbettertls.New()
	if err != nil {
		t.Fatal(err)
	}
	refs := append(s.Sample(200), testbettertls.Ref{Suite: testbettertls.NameConstraints, Index: 6})
	res := secchantest.BetterTLS(t, Provider{}, s, refs, secchantest.BetterTLSOptions{Workers: 2, Known: betterTLSKnown})
	for _, suite := range []string{testbettertls.NameConstraints, testbettertls.PathBuilding} {
		t.Logf("%s: %d of %d cases agree with BetterTLS, every refusal named", suite, res.Agree[suite], res.Cases[suite])
	}
	t.Logf("%d refused, %d of them for a certificate crypto/x509 cannot parse; %d known gaps", res.Refused, res.Unparseable, res.Known)
	if n := res.Cases[testbettertls.NameConstraints] + res.Cases[testbettertls.PathBuilding]; n != len(refs) {
		t.Errorf("ran %d cases, want %d", n, len(refs))
	}
	if res.Cases[testbettertls.PathBuilding] == 0 {
		t.Error("the sample has no pathbuilding case")
	}
}

// betterTLSKnown names the refusals that are right but not named as
// package trust names them, for a reason outside this test.
func betterTLSKnown(c testbettertls.Case, err error) string {
	var he *secchan.HandshakeError
	switch {
	case underWine() && errors.As(err, &he) && strings.Contains(err.Error(), "SEC_E_INTERNAL_ERROR"):
		// Wine's Schannel is GnuTLS, which refuses some of the malformed
		// SANs while parsing the Certificate message ("Error in the
		// certificate"); Windows hands the chain over.
		return "Wine's GnuTLS refuses the certificate during the handshake, before the chain reaches package trust"
	}
	return ""
}
