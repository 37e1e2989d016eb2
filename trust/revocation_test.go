package trust

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

func revocationScenario(t *testing.T, variant string) *testpki.Scenario {
	t.Helper()
	s, err := testpki.NewRevocationScenario(variant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestRevocationVariants(t *testing.T) {
	tests := []struct {
		variant string
		mode    RevocationMode
		kind    Kind
		sev     Severity
		source  string
		summary []string
	}{
		{"revoked", "", KindRevoked, SeverityError, "CRL at http://127.0.0.1", []string{"revoked on", "keyCompromise", "CRL at http://127.0.0.1"}},
		{"revoked-ocsp", RevocationSoft, KindRevoked, SeverityError, "OCSP responder at http://127.0.0.1", []string{"revoked on", "keyCompromise", "OCSP responder"}},
		{"revoked-staple", RevocationSoft, KindRevoked, SeverityError, "stapled OCSP response", []string{"revoked on", "stapled OCSP response"}},
		{"revoked", RevocationStrict, KindRevoked, SeverityError, "CRL at", nil},
		{"revocation-unknown", RevocationSoft, KindRevocationUnknown, SeverityWarning, "", []string{"is unknown", "503"}},
		{"revocation-unknown", RevocationStrict, KindRevocationUnknown, SeverityError, "", []string{"is unknown", "503"}},
		{"revocation-unknown", RevocationOff, "", "", "", nil},
		{"revoked", RevocationOff, "", "", "", nil},
		{"revocation-good", RevocationStrict, "", "", "CRL at", nil},
	}
	for _, tt := range tests {
		t.Run(tt.variant+"/"+string(tt.mode), func(t *testing.T) {
			s := revocationScenario(t, tt.variant)
			opts := Options{Roots: s.Pool(), Name: s.Name, Revocation: tt.mode, StapledOCSP: s.Staple, Checker: &Checker{}}
			r := VerifyContext(context.Background(), s.Chain, opts)
			checkInvariants(t, s.Chain, opts, r)
			if tt.kind == "" {
				if len(r.Problems) != 0 {
					t.Fatalf("want no problem, got %v", r.Problems)
				}
			} else {
				var p *Problem
				for i := range r.Problems {
					if r.Problems[i].Kind == tt.kind {
						p = &r.Problems[i]
					}
				}
				if p == nil {
					t.Fatalf("no %s in %v", tt.kind, r.Problems)
				}
				if p.Severity != tt.sev || p.Cert != 0 {
					t.Errorf("got %v on certificate %d, want severity %s on 0", p.Severity, p.Cert, tt.sev)
				}
				for _, w := range tt.summary {
					if !strings.Contains(p.Summary, w) {
						t.Errorf("summary %q lacks %q", p.Summary, w)
					}
				}
				t.Logf("%s\n\tfix: %s", p.Summary, p.Fix)
			}
			if tt.mode == RevocationOff {
				if n := s.Responder.Hits("/crl") + s.Responder.Hits("/ocsp"); n != 0 || len(r.Revocation) != 0 {
					t.Errorf("revocation off: %d fetches, results %v", n, r.Revocation)
				}
				return
			}
			if tt.source != "" {
				if len(r.Revocation) == 0 || !strings.HasPrefix(r.Revocation[0].Source, tt.source) {
					t.Errorf("revocation results %+v, want source %q", r.Revocation, tt.source)
				}
			}
		})
	}
}

// TestCRLCache: a shared Checker fetches a CRL once; a fresh one without
// the disk cache fetches again; the process's default Checker is shared.
// Failures are remembered too.
func TestCRLCache(t *testing.T) {
	s := revocationScenario(t, "revoked")
	shared := &Checker{}
	for i := 0; i < 3; i++ {
		r := Verify(s.Chain, Options{Roots: s.Pool(), Checker: shared})
		if !r.Has(KindRevoked) {
			t.Fatalf("round %d: %v", i, r.Problems)
		}
	}
	if n := s.Responder.Hits("/crl"); n != 1 {
		t.Errorf("shared checker: %d fetches, want 1", n)
	}
	Verify(s.Chain, Options{Roots: s.Pool(), Checker: &Checker{NoDiskCache: true}}) // a fresh one
	if n := s.Responder.Hits("/crl"); n != 2 {
		t.Errorf("after an uncached verify: %d fetches, want 2", n)
	}
	// A nil Checker is the process's: the second verification reuses
	// what the first fetched.
	for i := 0; i < 2; i++ {
		if r := Verify(s.Chain, Options{Roots: s.Pool()}); !r.Has(KindRevoked) {
			t.Fatalf("default checker, round %d: %v", i, r.Problems)
		}
	}
	if n := s.Responder.Hits("/crl"); n != 3 {
		t.Errorf("default checker: %d fetches in all, want 3", n)
	}

	f := revocationScenario(t, "revocation-unknown")
	failing := &Checker{}
	for i := 0; i < 2; i++ {
		if r := Verify(f.Chain, Options{Roots: f.Pool(), Checker: failing}); !r.Has(KindRevocationUnknown) {
			t.Fatalf("round %d: %v", i, r.Problems)
		}
	}
	if n := f.Responder.Hits("/crl"); n != 1 {
		t.Errorf("failing URL fetched %d times, want 1 (failure remembered)", n)
	}
}

// TestRevocationUnreachable: a CRL server that accepts and never answers,
// and one that refuses connections, give an unknown status, not a hang.
func TestRevocationUnreachable(t *testing.T) {
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never answered; closed with the listener's test
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/crl"
	closed.Close()

	// Only the stalled server needs the Checker's Timeout to end; the
	// others get one they never reach, so that a loaded machine cannot
	// turn "refused" into "no answer within".
	tests := []struct {
		name, url, detail string
		timeout           time.Duration
	}{
		{"stalled", "http://" + stall.Addr().String() + "/crl", "no answer within", 200 * time.Millisecond},
		{"refused", closedURL, "refused", time.Minute},
		{"ldap", "ldap://ldap.example/cn=CRL", "only http and https", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := testpki.NewRoot(testpki.Options{})
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: []string{tt.url}})
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Roots: root.Pool(), Name: "localhost", Checker: &Checker{Timeout: tt.timeout}}
			r := Verify(leaf.Chain, opts)
			checkInvariants(t, leaf.Chain, opts, r)
			if !r.Has(KindRevocationUnknown) || !r.OK() {
				t.Fatalf("want a revocation-unknown warning, got %v", r.Problems)
			}
			if len(r.Revocation) != 1 || !strings.Contains(r.Revocation[0].Detail, tt.detail) {
				t.Errorf("detail %+v lacks %q", r.Revocation, tt.detail)
			}
		})
	}
}

// TestRevocationForgeries: a CRL or staple signed by another CA, or a
// garbled staple, is not believed.
func TestRevocationForgeries(t *testing.T) {
	other, err := testpki.NewRoot(testpki.Options{CommonName: "Other CA"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := testpki.NewResponder(other)
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, CRLDistributionPoints: []string{foreign.CRLURL}})
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(leaf.Chain, Options{Roots: root.Pool(), Checker: &Checker{}})
	if !r.Has(KindRevocationUnknown) || len(r.Revocation) != 1 || !strings.Contains(r.Revocation[0].Detail, "issued by") {
		t.Errorf("foreign CRL: %v %+v", r.Problems, r.Revocation)
	}

	plain, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := foreign.OCSPResponse(plain.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for name, staple := range map[string][]byte{"foreign": forged, "garbage": []byte("not an OCSP response")} {
		for _, mode := range []RevocationMode{RevocationSoft, RevocationStrict} {
			opts := Options{Roots: root.Pool(), StapledOCSP: staple, Revocation: mode}
			r := Verify(plain.Chain, opts)
			checkInvariants(t, plain.Chain, opts, r)
			if !r.Has(KindRevocationUnknown) || r.OK() != (mode == RevocationSoft) {
				t.Errorf("%s staple, %s: %v", name, mode, r.Problems)
			}
		}
	}
}

// TestStrictWithoutSources: in strict mode a certificate that offers no
// way to check its status is an error; in soft mode it is not reported.
func TestStrictWithoutSources(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(s.Chain, Options{Roots: s.Pool(), Revocation: RevocationStrict})
	if !r.Has(KindRevocationUnknown) || r.OK() {
		t.Errorf("strict: %v", r.Problems)
	}
	if r := Verify(s.Chain, Options{Roots: s.Pool()}); len(r.Problems) != 0 {
		t.Errorf("soft: %v", r.Problems)
	}
}

func TestRevocationHonoursContext(t *testing.T) {
	s := revocationScenario(t, "revoked")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Checker{}
	r := VerifyContext(ctx, s.Chain, Options{Roots: s.Pool(), Checker: c})
	if !r.Has(KindRevocationUnknown) {
		t.Fatalf("cancelled context: %v", r.Problems)
	}
	// The cancelled attempt is not cached: a live context fetches.
	if r := Verify(s.Chain, Options{Roots: s.Pool(), Checker: c}); !r.Has(KindRevoked) {
		t.Errorf("after cancel: %v", r.Problems)
	}
}
