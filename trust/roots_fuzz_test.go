package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// FuzzRawSubject: the DER walk of roots.go faces the files of the system
// bundle. On any input it must not panic, and whenever crypto/x509 parses
// the input as a certificate the walk must find a subject, the very bytes
// of x509's RawSubject (or the index would file a root under another name
// than the pool does). The walk reads each byte at most once, so its work
// is bounded by the input.
func FuzzRawSubject(f *testing.F) {
	if data, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		for i := 0; len(data) > 0 && i < 20; i++ {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			f.Add(b.Bytes)
		}
	}
	if scenarios, err := testpki.BrokenScenarios(); err == nil {
		for _, s := range scenarios {
			for _, c := range s.Chain {
				if c != nil {
					f.Add(c.Raw)
				}
			}
		}
	}
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		got, ok := rawSubject(der)
		if ok && !bytes.Contains(der, got) {
			t.Fatalf("the subject %x is not part of the input", got)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		if !ok || !bytes.Equal(got, c.RawSubject) {
			t.Fatalf("rawSubject %x, %v; x509's RawSubject %x", got, ok, c.RawSubject)
		}
	})
}

// TestRawSubjectMutations is FuzzRawSubject's property on a fixed sample
// that every test run checks: certificates of the bundle and of testpki
// with bytes flipped, lengths changed, cut or extended, so that many still
// parse (a changed name, a changed length of a field before the subject).
func TestRawSubjectMutations(t *testing.T) {
	var seeds [][]byte
	if data, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		for i := 0; len(data) > 0 && i < 10; i++ {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			seeds = append(seeds, b.Bytes)
		}
	}
	p, err := testpki.NewPKI(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, p.Root.Cert.Raw, p.Intermediate.Cert.Raw, p.Server.Cert.Raw)
	rng := rand.New(rand.NewPCG(12, 34))
	parsed, checked := 0, 0
	for i := 0; i < 20000; i++ {
		der := bytes.Clone(seeds[rng.IntN(len(seeds))])
		for n := 1 + rng.IntN(3); n > 0; n-- {
			// Mostly the first 200 bytes: the header, the fields before
			// the subject and the subject itself.
			at := rng.IntN(min(len(der), 200))
			switch rng.IntN(5) {
			case 0:
				der[at] ^= byte(1 << rng.IntN(8))
			case 1:
				der[at] = byte(rng.IntN(256))
			case 2:
				der = der[:rng.IntN(len(der))+1]
			case 3:
				der = append(der[:at:at], append([]byte{byte(rng.IntN(256))}, der[at:]...)...)
			case 4:
				der = append(der[:at:at], der[at+1:]...)
			}
			if len(der) == 0 {
				der = []byte{0}
			}
		}
		got, ok := rawSubject(der)
		c, err := x509.ParseCertificate(der)
		checked++
		if err != nil {
			continue
		}
		parsed++
		if !ok || !bytes.Equal(got, c.RawSubject) {
			t.Fatalf("input %x: rawSubject %x, %v; x509's RawSubject %x", der, got, ok, c.RawSubject)
		}
	}
	t.Logf("%d mutated inputs, %d parsed by crypto/x509", checked, parsed)
}
