package gotls_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
	"github.com/tlsmail/tlsmail/trust"
)

// TestUnansweredResponderLeavesTimeForHandshake: the server's certificate
// names three CRL and three OCSP URLs that never answer. The revocation
// fetches used to run under the handshake's own deadline until it passed,
// so every handshake failed as "timed out ... check that the server speaks
// TLS on this port", even with --revocation soft, where an unknown status
// is only a warning. Now the fetches get part of the time, the handshake
// completes, and the status is reported as unknown (a warning when soft,
// a certificate error naming revocation when strict).
func TestUnansweredResponderLeavesTimeForHandshake(t *testing.T) {
	t.Parallel()
	hole := secchantest.BlackHole(t)
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var crls, ocsps []string
	for i := range 3 {
		crls = append(crls, fmt.Sprintf("%s/crl%d", hole, i))
		ocsps = append(ocsps, fmt.Sprintf("%s/ocsp%d", hole, i))
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: crls, OCSPServer: ocsps})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []trust.RevocationMode{trust.RevocationSoft, trust.RevocationStrict} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			// The Checker's own per-fetch timeout (10 s) is far longer
			// than the handshake's 3 s: only the handshake's deadline
			// bounds the fetches.
			cfg := &secchan.Config{ServerName: "localhost",
				Trust: trust.Options{Roots: root.Pool(), Revocation: mode, Checker: &trust.Checker{}}}
			c, err := handshakeWithin(t, leaf.TLSCertificate(), cfg, 3*time.Second)
			if mode == trust.RevocationSoft {
				if err != nil {
					t.Fatalf("handshake failed: %v; want it to complete with the revocation status unknown", err)
				}
				st := c.State()
				if !st.Verified || !st.Report.Has(trust.KindRevocationUnknown) {
					t.Errorf("verified %v, problems %v; want verified with a revocation-unknown warning", st.Verified, st.Report.Problems)
				}
				// The Checker's 10 s were not what was waited.
				for _, p := range st.Report.Problems {
					if strings.Contains(p.Summary, "within 10s") || !strings.Contains(p.Summary, "time for revocation checks ran out") {
						t.Errorf("problem %q does not say that the time for revocation checks ran out", p.Summary)
					}
				}
				return
			}
			var te *trust.Error
			if !errors.As(err, &te) || !te.Report.Has(trust.KindRevocationUnknown) {
				t.Fatalf("handshake error = %v, want a *trust.Error with revocation-unknown", err)
			}
		})
	}
}
