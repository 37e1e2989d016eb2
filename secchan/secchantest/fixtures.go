package secchantest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
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
	// Broken lists one server chain per broken kind.
	Broken []BrokenChain
}

// BrokenChain is a server certificate chain with one known problem.
type BrokenChain struct {
	// Name is the subtest name.
	Name string
	// Kind is the problem every provider must report.
	Kind trust.Kind
	// Cert is what the server presents.
	Cert tls.Certificate
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

	names := testpki.LoopbackNames
	ips := testpki.LoopbackIPs()

	// untrusted-root: a complete chain from a root the client does not know.
	other, err := testpki.NewPKI(nil, nil)
	if err != nil {
		return nil, err
	}
	f.Broken = append(f.Broken, BrokenChain{Name: "untrusted-root", Kind: trust.KindUntrustedRoot,
		Cert: other.Server.TLSCertificate()})

	// expired: issued by the good intermediate, ended a month ago.
	exp, err := pki.Intermediate.Issue(testpki.Options{DNSNames: names, IPAddresses: ips,
		NotBefore: time.Now().Add(-90 * 24 * time.Hour), NotAfter: time.Now().Add(-30 * 24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	f.Broken = append(f.Broken, BrokenChain{Name: "expired", Kind: trust.KindExpired, Cert: exp.TLSCertificate()})

	// name-mismatch: valid chain, wrong names.
	wrong, err := pki.Intermediate.Issue(testpki.Options{DNSNames: []string{"mail.other.example"}})
	if err != nil {
		return nil, err
	}
	f.Broken = append(f.Broken, BrokenChain{Name: "name-mismatch", Kind: trust.KindNameMismatch, Cert: wrong.TLSCertificate()})

	// missing-intermediate: the good leaf sent alone.
	alone := pki.Server.TLSCertificate()
	alone.Certificate = alone.Certificate[:1]
	f.Broken = append(f.Broken, BrokenChain{Name: "missing-intermediate", Kind: trust.KindMissingIntermediate, Cert: alone})

	// self-signed: a leaf that signed itself.
	ss, err := selfSignedLeaf(names, ips)
	if err != nil {
		return nil, err
	}
	f.Broken = append(f.Broken, BrokenChain{Name: "self-signed", Kind: trust.KindSelfSigned, Cert: ss})
	return f, nil
}

func selfSignedLeaf(names []string, ips []net.IP) (tls.Certificate, error) {
	key := testpki.NewKey()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: n.Add(n, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("secchantest: self-signed leaf: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: crypto.Signer(key), Leaf: leaf}, nil
}
