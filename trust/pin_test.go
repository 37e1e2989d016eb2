package trust

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

func TestParsePin(t *testing.T) {
	good := "sha256/" + strings.Repeat("A", 43) + "="
	tests := []struct {
		in, err string
	}{
		{good, ""},
		{"  " + good + " ", ""},
		{`pin-sha256="` + strings.Repeat("A", 43) + `="`, ""},
		{"", "missing the \"sha256/\" prefix"},
		{strings.Repeat("A", 43) + "=", "missing the \"sha256/\" prefix"},
		{"sha1/" + strings.Repeat("A", 27) + "=", `unsupported hash "sha1"`},
		{"sha256/not base64!", "not valid base64"},
		{"sha256/AAAA", "3 bytes, a SHA-256 hash is 32"},
	}
	for _, tt := range tests {
		_, err := ParsePin(tt.in)
		if tt.err == "" {
			if err != nil {
				t.Errorf("ParsePin(%q): %v", tt.in, err)
			}
			continue
		}
		var pe *PinError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), `a pin is "sha256/" followed by`) {
			t.Errorf("ParsePin(%q) = %v, want a PinError with %q", tt.in, err, tt.err)
		}
	}
}

func TestPins(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	leafPin := SPKIPin(s.Chain[0])
	if p, err := ParsePin(leafPin); err != nil || p.String() != leafPin || p != PinOf(s.Chain[0]) {
		t.Fatalf("round trip %q: %v", leafPin, err)
	}
	tests := []struct {
		name string
		pins []string
		ok   bool
	}{
		{"leaf", []string{leafPin}, true},
		{"intermediate", []string{SPKIPin(s.Chain[1])}, true},
		{"root not sent", []string{SPKIPin(s.Roots[0])}, true},
		{"one of two", []string{SPKIPin(other.Chain[0]), leafPin}, true},
		{"other key", []string{SPKIPin(other.Chain[0])}, false},
		{"malformed", []string{"sha256/xx"}, false},
	}
	for _, tt := range tests {
		opts := Options{Roots: s.Pool(), Name: "localhost", Pins: tt.pins}
		r := Verify(s.Chain, opts)
		checkInvariants(t, s.Chain, opts, r)
		if r.OK() != tt.ok || r.Has(KindPinMismatch) == tt.ok {
			t.Errorf("%s: %v", tt.name, r.Problems)
		}
	}
	// A pin that matches is no excuse for an untrusted chain, and a chain
	// that verifies is no excuse for a pin that does not match.
	r := Verify(s.Chain, Options{Roots: other.Pool(), Pins: []string{leafPin}})
	if r.OK() || !r.Has(KindUntrustedRoot) || r.Has(KindPinMismatch) {
		t.Errorf("pinned but untrusted: %v", r.Problems)
	}
}

// A pin is satisfied only by a key on the chain the leaf actually hangs
// from (each certificate signed by the next), not by any certificate the
// server sent: the genuine certificate is public, and an interceptor can send
// it along with its own leaf. This matters most when the chain is not
// trusted and the pin is all that stands (--insecure --pin).
func TestPinNotSatisfiedByUnrelatedCertificate(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := testpki.NewSelfSigned(testpki.Options{CommonName: "localhost", DNSNames: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pinned := range []int{0, 1} { // the genuine leaf's key, its intermediate's
		chain := append([]*x509.Certificate{fake.Cert}, s.Chain...)
		opts := Options{Roots: s.Pool(), Name: "localhost", Pins: []string{SPKIPin(s.Chain[pinned])}}
		r := Verify(chain, opts)
		if !r.Has(KindPinMismatch) {
			t.Errorf("pinned certificate %d sent after a forged leaf: no pin-mismatch in %v", pinned, r.Problems)
		}
	}
}
