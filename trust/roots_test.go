package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// rootsChildEnv makes the test binary run TestRootsOnDemandSameVerdicts's
// comparison itself, with SSL_CERT_FILE set before crypto/x509 first loads
// its system roots.
const rootsChildEnv = "TLSMAIL_TEST_ROOTS_CHILD"

// TestRawSubject: the DER walk finds exactly x509's RawSubject, for every
// certificate of the system bundle and for test certificates of every
// shape, and refuses truncated input without panicking.
func TestRawSubject(t *testing.T) {
	var ders [][]byte
	if data, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		for len(data) > 0 {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			ders = append(ders, b.Bytes)
		}
	}
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		for _, c := range append(s.Chain, s.Roots...) {
			if c != nil {
				ders = append(ders, c.Raw)
			}
		}
	}
	n := 0
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		got, ok := rawSubject(der)
		if !ok || !bytes.Equal(got, c.RawSubject) {
			t.Errorf("%s: rawSubject %x, %v; want %x", c.Subject, got, ok, c.RawSubject)
		}
		for _, cut := range []int{1, 10, len(der) / 2} {
			rawSubject(der[:len(der)-cut]) // must not panic
		}
		n++
	}
	if _, ok := rawSubject([]byte("not DER")); ok {
		t.Error("garbage has a subject")
	}
	t.Logf("%d certificates", n)
}

// TestRootIndexMatchesSystemPool: the index reads the same certificates as
// crypto/x509's Linux loader, in a test tree of files, directories and
// links.
func TestRootIndexMatchesSystemPool(t *testing.T) {
	var certs []*x509.Certificate
	for i := 0; i < 5; i++ {
		r, err := testpki.NewRoot(testpki.Options{CommonName: fmt.Sprintf("Index Root %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, r.Cert)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	os.WriteFile(bundle, append(testpki.CertsPEM(certs[0], certs[1]), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"...), 0o644)
	d1 := filepath.Join(dir, "d1")
	os.Mkdir(d1, 0o755)
	os.WriteFile(filepath.Join(d1, "two.pem"), testpki.CertsPEM(certs[2]), 0o644)
	os.Symlink("two.pem", filepath.Join(d1, "abcd1234.0")) // a same-directory hash link: read once
	os.Symlink(bundle, filepath.Join(d1, "bundle-link.pem"))
	d2 := filepath.Join(dir, "d2")
	os.Mkdir(d2, 0o755)
	os.WriteFile(filepath.Join(d2, "three.pem"), testpki.CertsPEM(certs[3]), 0o644)
	// The same text as a block of the bundle: the same DER, which the pool
	// holds once; the index does not decode it again.
	os.WriteFile(filepath.Join(d2, "again.pem"), testpki.CertsPEM(certs[1]), 0o644)
	// A block with headers is skipped by AppendCertsFromPEM, so by the index.
	os.WriteFile(filepath.Join(d2, "headers.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"X": "y"}, Bytes: certs[4].Raw}), 0o644)

	idx := loadRootIndex(bundle, d1+":"+d2+":"+filepath.Join(dir, "missing"))
	if idx == nil {
		t.Fatal("no index")
	}
	var got []string
	for _, r := range idx.roots {
		if c := r.parsed(); c != nil {
			got = append(got, c.Subject.CommonName)
		}
	}
	want := []string{"Index Root 0", "Index Root 1", "Index Root 0", "Index Root 1", "Index Root 2", "Index Root 3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("indexed %q, want %q", got, want)
	}
	if loadRootIndex(filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing")) != nil {
		t.Error("an index from no files")
	}
	pool, ok := candidateRoots(idx, []*x509.Certificate{{RawIssuer: certs[3].RawSubject}})
	if !ok || !pool.Equal(func() *x509.CertPool { p := x509.NewCertPool(); p.AddCert(certs[3]); return p }()) {
		t.Error("the candidates for Index Root 3 are not just it")
	}
	if _, ok := candidateRoots(idx, []*x509.Certificate{{RawIssuer: certs[4].RawSubject}}); ok {
		t.Error("a root crypto/x509 skips was a candidate")
	}
}

// TestRootsOnDemandSameVerdicts: for every broken and revocation scenario
// of the trust tests, with a system bundle that holds the scenarios' roots
// (and the real system roots), the report made from the candidate roots is
// the report made from the whole system pool, problem for problem; chains
// that the candidates do not anchor fall back. Run in a child process so
// that SSL_CERT_FILE is set before crypto/x509 loads its system roots.
func TestRootsOnDemandSameVerdicts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("roots on demand apply to Linux bundle files only")
	}
	if os.Getenv(rootsChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRootsOnDemandSameVerdicts$", "-test.v")
		cmd.Env = append(os.Environ(), rootsChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		return
	}
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range testpki.RevocationVariants() {
		s := revocationScenario(t, v)
		scenarios = append(scenarios, s)
	}
	good, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	scenarios = append(scenarios, good)
	var bundle []byte
	if sys, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		bundle = append(bundle, sys...)
	}
	for _, s := range scenarios {
		bundle = append(bundle, testpki.CertsPEM(s.Roots...)...)
	}
	file := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(file, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Setenv("SSL_CERT_FILE", file) // before the first use of the system roots in this process

	whole, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	onDemand, fellBack := 0, 0
	for _, s := range scenarios {
		for _, rev := range []RevocationMode{RevocationOff, RevocationSoft} {
			name := s.Variant + "/" + string(rev)
			opts := Options{Name: s.Name, Pins: s.Pins, StapledOCSP: s.Staple, Revocation: rev,
				Checker: &Checker{NoDiskCache: true}}
			// The whole system pool, given explicitly so that the hook
			// in VerifyContext does not pick candidates: for a trusted
			// chain the report is the one Roots nil gave before roots on
			// demand (only an untrusted chain's wording depends on
			// Roots being nil, and those are not compared).
			wo := opts
			wo.Roots = whole
			full := VerifyContext(context.Background(), s.Chain, wo)
			r, ok := verifyRootsOnDemand(context.Background(), s.Chain, opts)
			if !ok {
				fellBack++
				if full.Trusted {
					t.Errorf("%s: the whole pool trusts the chain, the candidates did not", name)
				}
				continue
			}
			onDemand++
			if !r.Trusted || !full.Trusted {
				t.Errorf("%s: a report from the candidates for a chain they do not anchor (trusted %v, whole pool %v)", name, r.Trusted, full.Trusted)
			}
			if !sameReport(full, r) {
				t.Errorf("%s: reports differ\nwhole pool: %+v %v %v\non demand:  %+v %v %v", name,
					full.Problems, full.PathIndex, full.Revocation, r.Problems, r.PathIndex, r.Revocation)
			}
		}
	}
	t.Logf("%d reports from the candidate roots, %d fell back to the whole pool", onDemand, fellBack)
	if onDemand == 0 || fellBack == 0 {
		t.Error("both ways should have been taken")
	}
}

// sameReport compares what a user sees of two reports.
func sameReport(a, b Report) bool {
	anchor := func(r Report) []byte {
		if r.Anchor == nil {
			return nil
		}
		return r.Anchor.Raw
	}
	path := func(r Report) (out []string) {
		for _, c := range r.Path {
			out = append(out, string(c.Raw))
		}
		return out
	}
	return a.Trusted == b.Trusted && reflect.DeepEqual(a.Problems, b.Problems) &&
		reflect.DeepEqual(a.PathIndex, b.PathIndex) && bytes.Equal(anchor(a), anchor(b)) &&
		reflect.DeepEqual(path(a), path(b)) && reflect.DeepEqual(a.Revocation, b.Revocation)
}
