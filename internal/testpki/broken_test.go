package testpki

import (
	"crypto"
	"crypto/x509"
	"os"
	"testing"
)

func TestScenariosAreWellFormed(t *testing.T) {
	all, err := BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range all {
		t.Run(s.Variant, func(t *testing.T) {
			if seen[s.Variant] {
				t.Errorf("duplicate variant")
			}
			seen[s.Variant] = true
			if s.Kind == "" || s.About == "" || s.Name == "" || len(s.Chain) == 0 || len(s.Roots) == 0 {
				t.Fatalf("incomplete scenario %+v", s)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !s.Key.Public().(equaler).Equal(s.Leaf().PublicKey) {
				t.Errorf("the key does not match the leaf")
			}
			tc := s.TLSCertificate()
			if len(tc.Certificate) != len(s.Chain) || tc.PrivateKey == nil {
				t.Errorf("TLSCertificate: %d certificates", len(tc.Certificate))
			}
			dir := t.TempDir()
			ca, chain, key, err := s.WriteFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{ca, chain, key} {
				if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
			}
			if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v", fi.Mode())
			}
		})
	}
	for _, k := range BrokenKinds() {
		if _, err := NewBroken(k); err != nil {
			t.Errorf("NewBroken(%s): %v", k, err)
		}
	}
	if _, err := NewBroken("no-such-kind"); err == nil {
		t.Errorf("NewBroken accepted an unknown kind")
	}
}

// TestFixturesDiffer checks the property each fixture exists for, with
// crypto/x509 directly (package trust has its own tests).
func TestFixturesDiffer(t *testing.T) {
	good, err := NewGood()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Leaf().Verify(x509.VerifyOptions{Roots: good.Pool(), Intermediates: pool(good.Chain[1:]), DNSName: "localhost"}); err != nil {
		t.Fatalf("the good scenario does not verify: %v", err)
	}
	all, err := BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		_, err := s.Leaf().Verify(x509.VerifyOptions{Roots: s.Pool(), Intermediates: pool(s.Chain[1:]), DNSName: s.Name})
		acceptable := s.Kind == "weak-key" || s.Kind == "pin-mismatch" || s.Kind == "expiring-soon"
		if (err == nil) != acceptable {
			t.Errorf("%s: crypto/x509 says %v", s.Variant, err)
		}
	}
}

func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
