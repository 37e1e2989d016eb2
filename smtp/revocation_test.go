package smtp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// TestNilCheckerSharedAcrossDials: with no Checker in Config.TLS.Trust,
// sessions use the process's trust.DefaultChecker, so a second handshake
// with the same server reuses the CRL the first fetched instead of
// fetching it again. The user's cache directory is hidden (no HOME, no
// XDG_CACHE_HOME, no LocalAppData), so the on-disk cache cannot be what
// shares it.
func TestNilCheckerSharedAcrossDials(t *testing.T) {
	for _, k := range []string{"HOME", "XDG_CACHE_HOME", "LocalAppData"} {
		t.Setenv(k, "")
	}
	s, err := testpki.NewRevocationScenario("revoked")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dialOnce := func() {
		t.Helper()
		addr := scripted(t, func(p *peer) {
			p.tlsServer(s.TLSCertificate()) // the client aborts the handshake
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := Dial(ctx, addr, &Config{Mode: Implicit, Timeout: 10 * time.Second,
			TLS: &secchan.Config{ServerName: "localhost", Trust: trust.Options{Roots: s.Pool()}}})
		var te *trust.Error
		if !errors.As(err, &te) || !te.Report.Has(trust.KindRevoked) {
			t.Fatalf("Dial = %v; want a *trust.Error reporting the revoked certificate", err)
		}
	}
	dialOnce()
	first := s.Responder.Hits("/crl")
	if first == 0 {
		t.Fatal("the CRL was not fetched; the revocation check did not run")
	}
	dialOnce()
	if n := s.Responder.Hits("/crl"); n != first {
		t.Errorf("the second session fetched the CRL again (%d fetches, then %d): a nil Checker must share the process's", first, n)
	}
}
