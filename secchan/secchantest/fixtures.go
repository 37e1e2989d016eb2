package secchantest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// ServerName is the name the suite connects with; every good server
// certificate carries it (and 127.0.0.1, the address the suite dials).
const ServerName = "localhost"

// Fixtures are the certificates the suite uses, made fresh for each run.
type Fixtures struct {
	// PKI is root → intermediate → server leaf for localhost and 127.0.0.1.
	PKI *testpki.PKI
	// ClientRoot issues ClientLeaf, a clientAuth certificate with an RSA
	// key (Schannel under Wine can only use RSA client keys).
	ClientRoot *testpki.Authority
	ClientLeaf *testpki.Leaf
	// Broken lists one server chain per broken scenario of
	// internal/testpki (every kind and its variants) that a TLS server can
	// present: each must be refused, with the same kinds on every provider.
	Broken []BrokenChain
	// Warned lists chains that verify with a warning only (expiring-soon):
	// each must be accepted, with the warning in State().Report.
	Warned []BrokenChain
}

// BrokenChain is a server certificate chain with one known problem, and the
// client settings under which the problem shows.
type BrokenChain struct {
	// Name is the subtest name: the scenario's variant ("expired",
	// "expired-intermediate", ...).
	Name string
	// Kind is the problem every provider must report.
	Kind trust.Kind
	// About says what is wrong, in words.
	About string
	// Cert is what the server presents.
	Cert tls.Certificate
	// Roots are the roots the client trusts (--ca).
	Roots *x509.CertPool
	// RootCerts are the same roots as certificates.
	RootCerts []*x509.Certificate
	// Name is the name the client verifies (--tls-name).
	ServerName string
	// Pins are the client's SPKI pins (--pin), if any.
	Pins []string
}

// Config returns the suite's client configuration for b: b's roots, name
// and pins, revocation off.
func (b BrokenChain) Config() *secchan.Config {
	cfg := &secchan.Config{ServerName: b.ServerName}
	cfg.Trust.Roots = b.Roots
	cfg.Trust.Pins = b.Pins
	cfg.Trust.Revocation = trust.RevocationOff
	return cfg
}

// unservable lists the scenarios a crypto/tls server cannot present, with
// why: they never reach the client's verification.
var unservable = map[string]string{
	"weak-key-p224": "crypto/tls cannot sign a handshake with a P-224 key (no TLS signature scheme uses that curve)",
}

// Roots returns a pool with the good root: what --ca would load.
func (f *Fixtures) Roots() *x509.CertPool { return f.PKI.Root.Pool() }

// NewFixtures makes the suite's certificates.
func NewFixtures() (*Fixtures, error) {
	pki, err := testpki.NewPKI(nil, nil)
	if err != nil {
		return nil, err
	}
	f := &Fixtures{PKI: pki}

	f.ClientRoot, err = testpki.NewRoot(testpki.Options{CommonName: "tlsmail Test Client CA"})
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f.ClientLeaf, err = f.ClientRoot.Issue(testpki.Options{
		CommonName:  "tlsmail test client",
		Key:         rsaKey,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}

	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		return nil, fmt.Errorf("secchantest: %w", err)
	}
	for _, s := range scenarios {
		if _, ok := unservable[s.Variant]; ok {
			continue
		}
		b := BrokenChain{Name: s.Variant, Kind: trust.Kind(s.Kind), About: s.About, Cert: s.TLSCertificate(),
			Roots: s.Pool(), RootCerts: s.Roots, ServerName: s.Name, Pins: s.Pins}
		if b.Kind == trust.KindExpiringSoon {
			f.Warned = append(f.Warned, b)
		} else {
			f.Broken = append(f.Broken, b)
		}
	}
	return f, nil
}
