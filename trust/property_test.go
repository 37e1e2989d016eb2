package trust

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// keys are made once: RSA key generation is slow, and reusing keys across
// certificates is fine for these tests.
type keySet struct {
	rsa2048, rsa1024, p224 crypto.Signer
}

func newKeySet(t *testing.T) keySet {
	t.Helper()
	var ks keySet
	var err error
	if ks.rsa2048, err = testpki.NewRSAKey(2048); err != nil {
		t.Fatal(err)
	}
	if ks.rsa1024, err = testpki.NewRSAKey(1024); err != nil {
		t.Fatal(err)
	}
	if ks.p224, err = testpki.NewP224Key(); err != nil {
		t.Fatal(err)
	}
	return ks
}

// mutation is one random change to a generated chain.
type mutation struct {
	desc []string
	// rate is the chance that a choice is random; otherwise it takes the
	// last option, which is always the correct one.
	rate float64
}

func (m *mutation) pick(r *rand.Rand, what string, n int) int {
	i := n - 1
	if r.Float64() < m.rate {
		i = r.IntN(n)
	}
	m.desc = append(m.desc, fmt.Sprintf("%s=%d", what, i))
	return i
}

// randomChain builds a chain with random defects and returns it with the
// options to verify it with.
func randomChain(t *testing.T, r *rand.Rand, ks keySet) ([]*x509.Certificate, Options, string) {
	t.Helper()
	m := &mutation{rate: []float64{0.02, 0.05, 0.1, 0.2, 1}[r.IntN(5)]}
	now := time.Now()
	day := 24 * time.Hour
	validity := func(what string) (time.Time, time.Time) {
		switch m.pick(r, what, 8) {
		case 0:
			return now.Add(-100 * day), now.Add(-2 * day) // expired
		case 1:
			return now.Add(3 * day), now.Add(100 * day) // not yet valid
		case 2:
			return now.Add(-day), now.Add(5 * day) // expiring soon
		}
		return time.Time{}, time.Time{}
	}
	sigAlg := func(what string, issuerRSA bool) x509.SignatureAlgorithm {
		if issuerRSA && m.pick(r, what, 5) == 0 {
			return x509.SHA1WithRSA
		}
		return 0
	}
	rootKey := crypto.Signer(nil)
	rootRSA := m.pick(r, "rootRSA", 3) == 0
	if rootRSA {
		rootKey = ks.rsa2048
	}
	nb, na := validity("rootValidity")
	if na.Before(now) && r.IntN(2) == 0 { // keep most roots valid
		nb, na = time.Time{}, time.Time{}
	}
	root, err := testpki.NewRoot(testpki.Options{Key: rootKey, NotBefore: nb, NotAfter: na,
		MaxPathLen: []int{0, 1, 2, -1}[m.pick(r, "rootPathLen", 4)]})
	if err != nil {
		t.Fatal(err)
	}
	issuer, issuerRSA := root, rootRSA
	depth := m.pick(r, "depth", 4)
	for d := 0; d < depth; d++ {
		o := testpki.Options{CommonName: fmt.Sprintf("Intermediate %d", d)}
		o.NotBefore, o.NotAfter = validity(fmt.Sprintf("i%dValidity", d))
		o.SignatureAlgorithm = sigAlg(fmt.Sprintf("i%dSHA1", d), issuerRSA)
		isRSA := m.pick(r, fmt.Sprintf("i%dRSA", d), 3) == 0
		if isRSA {
			o.Key = ks.rsa2048
		}
		switch m.pick(r, fmt.Sprintf("i%dEKU", d), 6) {
		case 0:
			o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		case 1:
			o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		}
		if m.pick(r, fmt.Sprintf("i%dKU", d), 8) == 0 {
			o.KeyUsage = x509.KeyUsageDigitalSignature
		}
		switch m.pick(r, fmt.Sprintf("i%dPathLen", d), 4) {
		case 0:
			o.MaxPathLen, o.MaxPathLenZero = 0, true
		case 1:
			o.MaxPathLen = 1
		default:
			o.MaxPathLen = -1
		}
		var mods []func(*x509.Certificate)
		switch m.pick(r, fmt.Sprintf("i%dNC", d), 8) {
		case 0:
			mods = append(mods, func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"example.org"} })
		case 1:
			mods = append(mods, func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"localhost"} })
		case 2:
			mods = append(mods, func(c *x509.Certificate) {
				c.ExcludedIPRanges = []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}}
			})
		case 3:
			mods = append(mods, func(c *x509.Certificate) { c.ExcludedDNSDomains = []string{".localhost"} })
		}
		switch m.pick(r, fmt.Sprintf("i%dBC", d), 10) {
		case 0:
			mods = append(mods, func(c *x509.Certificate) { c.IsCA = false; c.MaxPathLen = -1; c.MaxPathLenZero = false })
		case 1:
			mods = append(mods, func(c *x509.Certificate) { c.BasicConstraintsValid = false; c.IsCA = false })
		}
		if m.pick(r, fmt.Sprintf("i%dCrit", d), 15) == 0 {
			mods = append(mods, critical)
		}
		o.Modify = func(c *x509.Certificate) {
			for _, f := range mods {
				f(c)
			}
		}
		next, err := issuer.NewIntermediate(o)
		if err != nil {
			t.Fatal(err)
		}
		issuer, issuerRSA = next, isRSA
	}
	lo := testpki.Options{}
	lo.NotBefore, lo.NotAfter = validity("leafValidity")
	lo.SignatureAlgorithm = sigAlg("leafSHA1", issuerRSA)
	switch m.pick(r, "leafKey", 6) {
	case 0:
		lo.Key = ks.rsa1024
	case 1:
		lo.Key = ks.p224
	case 2:
		lo.Key = ks.rsa2048
	}
	switch m.pick(r, "leafNames", 5) {
	case 0:
		lo.DNSNames = []string{"mail.example.org"}
	case 1:
		lo.DNSNames = []string{"localhost"}
	case 2:
		lo.CommonName = "localhost"
		lo.Modify = func(c *x509.Certificate) { c.DNSNames, c.IPAddresses = nil, nil }
	default:
		lo.DNSNames, lo.IPAddresses = testpki.LoopbackNames, testpki.LoopbackIPs()
	}
	switch m.pick(r, "leafEKU", 6) {
	case 0:
		lo.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case 1:
		lo.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	case 2:
		lo.ExtKeyUsage = []x509.ExtKeyUsage{}
	}
	if m.pick(r, "leafCrit", 12) == 0 {
		prev := lo.Modify
		lo.Modify = func(c *x509.Certificate) {
			if prev != nil {
				prev(c)
			}
			critical(c)
		}
	}
	var leaf *testpki.Leaf
	if m.pick(r, "selfSigned", 12) == 0 {
		if lo.Key != ks.rsa1024 && lo.Key != ks.rsa2048 {
			lo.SignatureAlgorithm = 0
		}
		leaf, err = testpki.NewSelfSigned(lo)
	} else {
		leaf, err = issuer.Issue(lo)
	}
	if err != nil {
		t.Fatal(err)
	}
	chain := append([]*x509.Certificate{}, leaf.Chain...)
	switch m.pick(r, "send", 7) {
	case 0: // leaf only
		chain = chain[:1]
	case 1: // the root too
		chain = append(chain, root.Cert)
	case 2: // reversed intermediates
		for i, j := 1, len(chain)-1; i < j; i, j = i+1, j-1 {
			chain[i], chain[j] = chain[j], chain[i]
		}
	case 3: // drop the top intermediate
		if len(chain) > 2 {
			chain = chain[:len(chain)-1]
		}
	case 4: // an unrelated certificate
		other, err := testpki.NewPKI(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, other.Intermediate.Cert)
	}
	opts := Options{Name: []string{"localhost", "127.0.0.1", "mail.example.org", ""}[m.pick(r, "name", 4)]}
	opts.Roots = root.Pool()
	if m.pick(r, "roots", 6) == 0 {
		other, err := testpki.NewRoot(testpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Roots = other.Pool()
	}
	if m.pick(r, "time", 5) == 0 {
		opts.Time = now.Add(time.Duration(r.IntN(400)-200) * day)
	}
	return chain, opts, strings.Join(m.desc, " ")
}

var oidUnknownCritical = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 9}

func critical(c *x509.Certificate) {
	c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oidUnknownCritical, Critical: true, Value: []byte{5, 0}})
}

// TestPropertyAgainstX509 generates chains with random defects and checks:
// when crypto/x509 rejects, the report has an error that one of the
// diagnostic checks found; when the report is clean, crypto/x509 accepts.
func TestPropertyAgainstX509(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 150
	}
	ks := newKeySet(t)
	r := rand.New(rand.NewPCG(20261128, 3))
	accepted, rejected := 0, 0
	for i := 0; i < n; i++ {
		chain, opts, desc := randomChain(t, r, ks)
		rep := Verify(chain, opts)
		if oracle(chain, opts) == nil {
			accepted++
		} else {
			rejected++
		}
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkInvariants(t, chain, opts, rep)
		})
		if !ok {
			t.Logf("case %d: %s\n%v", i, desc, rep.Problems)
		}
	}
	// The generator must exercise both verdicts, or the property is vacuous.
	if accepted < n/10 || rejected < n/3 {
		t.Errorf("generator skewed: %d accepted, %d rejected", accepted, rejected)
	}
	t.Logf("%d accepted, %d rejected by crypto/x509", accepted, rejected)
}
