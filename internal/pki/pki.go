// Package pki makes X.509 certificates at run time: a root CA, intermediates
// and leaves signed by them, in memory, with PEM helpers to write them out.
// The embedded server (tlsmail serve, tlsmail demo) uses it for its
// throwaway CA; internal/testpki builds its test fixtures on it.
//
// The certificates follow the RFC 5280 profile: basicConstraints
// (section 4.2.1.9) on every certificate, keyUsage (section 4.2.1.3) and,
// for a leaf, extKeyUsage serverAuth (section 4.2.1.12).
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Options describes a certificate to make. Zero values pick sensible
// defaults: a fresh ECDSA P-256 key, valid from an hour ago for 90 days,
// serverAuth for a leaf.
type Options struct {
	CommonName   string
	Organization string
	DNSNames     []string
	IPAddresses  []net.IP
	NotBefore    time.Time
	NotAfter     time.Time
	// Key is the certificate's key; nil makes an ECDSA P-256 key.
	Key crypto.Signer
	// ExtKeyUsage defaults to serverAuth for a leaf, none for a CA.
	ExtKeyUsage []x509.ExtKeyUsage
	// KeyUsage defaults to DigitalSignature (leaf) or CertSign|CRLSign (CA).
	KeyUsage x509.KeyUsage
	// SignatureAlgorithm overrides the issuer's default (e.g. SHA1WithRSA).
	SignatureAlgorithm x509.SignatureAlgorithm
	IsCA               bool
	// MaxPathLen for a CA; -1 (or 0 with MaxPathLenZero) as in x509.
	MaxPathLen     int
	MaxPathLenZero bool
	// CRLDistributionPoints and OCSPServer are URLs put in the certificate
	// (RFC 5280 section 4.2.1.13, authorityInfoAccess section 4.2.2.1).
	CRLDistributionPoints []string
	OCSPServer            []string
	// Modify, if set, edits the template last, before signing.
	Modify func(*x509.Certificate)
}

// Authority is a CA that can issue certificates.
type Authority struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Parents are the authorities above this one, nearest first (empty for
	// a root).
	Parents []*Authority
}

// Leaf is an issued end-entity certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain is the leaf followed by the intermediates up to (not including)
	// the root: what a well-configured server sends.
	Chain []*x509.Certificate
}

// NewKey returns a fresh ECDSA P-256 key.
func NewKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("pki: ecdsa key generation failed: " + err.Error()) // crypto/rand cannot fail
	}
	return k
}

// serial returns a random positive serial number of at most 128 bits
// (RFC 5280 section 4.1.2.2 allows up to 20 octets).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("pki: serial: " + err.Error()) // crypto/rand cannot fail
	}
	return n.Add(n, big.NewInt(1))
}

// Template returns the x509 template o describes, for a CA when ca is set.
// Defaults are filled in and Modify has run.
func (o Options) Template(ca bool) *x509.Certificate {
	now := time.Now()
	t := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: o.CommonName},
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPAddresses,
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		ExtKeyUsage:           o.ExtKeyUsage,
		KeyUsage:              o.KeyUsage,
		SignatureAlgorithm:    o.SignatureAlgorithm,
		BasicConstraintsValid: true,
		IsCA:                  ca,
		MaxPathLen:            o.MaxPathLen,
		MaxPathLenZero:        o.MaxPathLenZero,
		CRLDistributionPoints: o.CRLDistributionPoints,
		OCSPServer:            o.OCSPServer,
	}
	if o.Organization != "" {
		t.Subject.Organization = []string{o.Organization}
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = now.Add(-time.Hour)
	}
	if t.NotAfter.IsZero() {
		t.NotAfter = now.Add(90 * 24 * time.Hour)
	}
	if t.KeyUsage == 0 {
		if ca {
			t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		} else {
			t.KeyUsage = x509.KeyUsageDigitalSignature
		}
	}
	if t.ExtKeyUsage == nil && !ca {
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if o.Modify != nil {
		o.Modify(t)
	}
	return t
}

func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, FullLength(signer))
	if err != nil {
		return nil, fmt.Errorf("pki: create %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// NewRoot makes a self-signed root CA, valid for ten years unless
// o.NotAfter says otherwise.
func NewRoot(o Options) (*Authority, error) {
	if o.CommonName == "" {
		o.CommonName = "tlsmail Test Root CA"
	}
	if o.Key == nil {
		o.Key = NewKey()
	}
	t := o.Template(true)
	if o.NotAfter.IsZero() {
		t.NotAfter = time.Now().Add(10 * 365 * 24 * time.Hour)
	}
	c, err := create(t, t, o.Key.Public(), o.Key)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: c, Key: o.Key}, nil
}

// NewIntermediate makes a CA signed by a, valid for five years unless
// o.NotAfter says otherwise.
func (a *Authority) NewIntermediate(o Options) (*Authority, error) {
	if o.CommonName == "" {
		o.CommonName = "tlsmail Test Intermediate CA"
	}
	if o.Key == nil {
		o.Key = NewKey()
	}
	t := o.Template(true)
	if o.NotAfter.IsZero() {
		t.NotAfter = time.Now().Add(5 * 365 * 24 * time.Hour)
	}
	c, err := create(t, a.Cert, o.Key.Public(), a.Key)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: c, Key: o.Key, Parents: append([]*Authority{a}, a.Parents...)}, nil
}

// Issue makes an end-entity certificate signed by a. Options.IsCA makes a
// CA certificate instead (for fixtures that need control).
func (a *Authority) Issue(o Options) (*Leaf, error) {
	if o.CommonName == "" && len(o.DNSNames) > 0 {
		o.CommonName = o.DNSNames[0]
	}
	if o.Key == nil {
		o.Key = NewKey()
	}
	c, err := create(o.Template(o.IsCA), a.Cert, o.Key.Public(), a.Key)
	if err != nil {
		return nil, err
	}
	chain := []*x509.Certificate{c}
	if len(a.Parents) > 0 { // a is an intermediate: send it and those above, not the root
		chain = append(chain, a.Cert)
		for _, p := range a.Parents[:len(a.Parents)-1] {
			chain = append(chain, p.Cert)
		}
	}
	return &Leaf{Cert: c, Key: o.Key, Chain: chain}, nil
}

// Root returns the top of a's hierarchy.
func (a *Authority) Root() *Authority {
	if len(a.Parents) == 0 {
		return a
	}
	return a.Parents[len(a.Parents)-1]
}

// Pool returns a pool holding only a's certificate.
func (a *Authority) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.Cert)
	return p
}

// NewSelfSigned makes a self-signed end-entity certificate (not a CA), as
// a server configured with 'openssl req -x509' presents.
func NewSelfSigned(o Options) (*Leaf, error) {
	if o.CommonName == "" && len(o.DNSNames) > 0 {
		o.CommonName = o.DNSNames[0]
	}
	if o.Key == nil {
		o.Key = NewKey()
	}
	t := o.Template(false)
	c, err := create(t, t, o.Key.Public(), o.Key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: c, Key: o.Key, Chain: []*x509.Certificate{c}}, nil
}

// AsAuthority lets a leaf sign certificates, for fixtures in which an
// end-entity certificate (wrongly) issues another.
func (l *Leaf) AsAuthority(issuer *Authority) *Authority {
	return &Authority{Cert: l.Cert, Key: l.Key, Parents: append([]*Authority{issuer}, issuer.Parents...)}
}

// TLSCertificate returns the leaf and its chain for a tls.Config.
func (l *Leaf) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: l.Key, Leaf: l.Cert}
	for _, c := range l.Chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// PKI is the usual three-level hierarchy: root, intermediate, server leaf.
type PKI struct {
	Root         *Authority
	Intermediate *Authority
	Server       *Leaf
}

// LoopbackNames returns the DNS names a loopback server certificate
// carries: localhost.
func LoopbackNames() []string { return []string{"localhost"} }

// LoopbackIPs returns the IP SANs of a loopback server certificate:
// 127.0.0.1 and ::1.
func LoopbackIPs() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} }

// NewPKI makes root → intermediate → leaf, the leaf valid for dnsNames and
// ips (localhost, 127.0.0.1 and ::1 when both are empty).
func NewPKI(dnsNames []string, ips []net.IP) (*PKI, error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		dnsNames, ips = LoopbackNames(), LoopbackIPs()
	}
	root, err := NewRoot(Options{})
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate(Options{})
	if err != nil {
		return nil, err
	}
	leaf, err := inter.Issue(Options{DNSNames: dnsNames, IPAddresses: ips})
	if err != nil {
		return nil, err
	}
	return &PKI{Root: root, Intermediate: inter, Server: leaf}, nil
}

// CertsPEM encodes certificates as PEM (RFC 7468 section 5), in order.
func CertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a private key as PKCS#8 PEM (RFC 7468 section 10).
func KeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteFiles writes the root CA (ca.pem), the server chain (server.pem) and
// its key (server.key, mode 0600) into dir and returns their paths.
func (p *PKI) WriteFiles(dir string) (caFile, certFile, keyFile string, err error) {
	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "server.pem")
	keyFile = filepath.Join(dir, "server.key")
	if err = os.WriteFile(caFile, CertsPEM(p.Root.Cert), 0o644); err != nil {
		return
	}
	if err = os.WriteFile(certFile, CertsPEM(p.Server.Chain...), 0o644); err != nil {
		return
	}
	kp, err := KeyPEM(p.Server.Key)
	if err != nil {
		return
	}
	err = os.WriteFile(keyFile, kp, 0o600)
	return
}

// FullLength is signer made to sign again until an ECDSA signature's r
// and s (SEC 1, section 4.1.3; DER-encoded as in RFC 5480, section 2.2)
// both have the full length of the curve's order in bytes; other keys'
// signatures are signer's own. Wine 8's crypt32 refuses an ECDSA
// signature whose r or s is shorter (a leading zero byte, in about one
// signature in 128) as one that does not verify (trust status 0x8), where
// Windows accepts it: in 400 roots made here, 2 self-signatures with an s
// of 31 bytes failed CryptVerifyCertificateSignature under Wine. The
// certificates, CRLs and OCSP responses made here are verified by crypt32
// under Wine in the tests, which then failed at random (about one run in
// four of the Schannel system-trust tests). Each signature is made with a
// fresh random nonce; what is left out is only the short encodings.
func FullLength(signer crypto.Signer) crypto.Signer {
	if _, ok := signer.Public().(*ecdsa.PublicKey); !ok {
		return signer
	}
	return fullLength{signer}
}

type fullLength struct{ crypto.Signer }

// fullLengthTries bounds FullLength's signatures for one digest. A P-256
// or P-384 signature is short about one time in 128, a P-521 one about
// three times in four (the order's top byte is 0x01, so r and s are each
// a byte short half the time): 128 short ones in a row are about 2^-53
// on P-521 and far less on the others, so running out of tries means the
// signer cannot make another kind (a deterministic one, RFC 6979).
const fullLengthTries = 128

func (f fullLength) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	n := (f.Public().(*ecdsa.PublicKey).Curve.Params().N.BitLen() + 7) / 8
	for try := 0; try < fullLengthTries; try++ {
		sig, err := f.Signer.Sign(r, digest, opts)
		if err != nil {
			return nil, err
		}
		var v struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(sig, &v); err != nil || len(rest) > 0 ||
			(len(v.R.Bytes()) == n && len(v.S.Bytes()) == n) {
			return sig, nil
		}
	}
	return nil, fmt.Errorf("pki: the ECDSA signer made %d signatures in a row with an r or s short of the curve's %d bytes (which Wine's crypt32 refuses); it may sign deterministically (RFC 6979): give it a random source, or use another key", fullLengthTries, n)
}
