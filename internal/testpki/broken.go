package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Scenario is a certificate chain that shows one kind of problem, with what
// a client needs to verify it: the roots to trust, the name to check, the
// time to check at. Kind is the problem kind as package trust names it
// ("expired", "missing-intermediate", ...); Variant tells apart scenarios of
// the same kind ("expired-intermediate").
type Scenario struct {
	Kind    string
	Variant string
	// About says in a few words what is wrong, for test names and docs.
	About string
	// Name is the name to verify: "localhost" unless the problem is about
	// names.
	Name string
	// Roots are the roots the client trusts.
	Roots []*x509.Certificate
	// Chain is what the server sends, leaf first.
	Chain []*x509.Certificate
	// Key is the leaf's private key.
	Key crypto.Signer
	// Pins, when set, are the SPKI pins the client is configured with.
	Pins []string
	// Staple, when set, is the OCSP response the server staples.
	Staple []byte
	// Responder, when set, serves the CRL and OCSP responses the chain
	// points to; the caller closes it.
	Responder *Responder
}

// Close stops the scenario's Responder, if any.
func (s *Scenario) Close() {
	if s.Responder != nil {
		s.Responder.Close()
	}
}

// Leaf returns the first certificate of the chain.
func (s *Scenario) Leaf() *x509.Certificate { return s.Chain[0] }

// Pool returns the trusted roots as a pool.
func (s *Scenario) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range s.Roots {
		p.AddCert(c)
	}
	return p
}

// TLSCertificate returns the chain and key for a server's tls.Config.
func (s *Scenario) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: s.Key, Leaf: s.Chain[0], OCSPStaple: s.Staple}
	for _, c := range s.Chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// WriteFiles writes the roots (ca.pem), the chain (chain.pem) and the key
// (key.pem, mode 0600) into dir.
func (s *Scenario) WriteFiles(dir string) (caFile, chainFile, keyFile string, err error) {
	caFile = filepath.Join(dir, "ca.pem")
	chainFile = filepath.Join(dir, "chain.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err = os.WriteFile(caFile, CertsPEM(s.Roots...), 0o644); err != nil {
		return
	}
	if err = os.WriteFile(chainFile, CertsPEM(s.Chain...), 0o644); err != nil {
		return
	}
	kp, err := KeyPEM(s.Key)
	if err != nil {
		return
	}
	err = os.WriteFile(keyFile, kp, 0o600)
	return
}

// NewRSAKey returns a fresh RSA key of the given size (1024 is the smallest
// crypto/rsa makes).
func NewRSAKey(bits int) (crypto.Signer, error) {
	return rsa.GenerateKey(rand.Reader, bits)
}

// NewP224Key returns a fresh ECDSA key on P-224, a curve too small for TLS.
func NewP224Key() (crypto.Signer, error) {
	return ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
}

// unknownCriticalOID is a private-arc extension no verifier knows.
var unknownCriticalOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 1}

// BrokenKinds lists the problem kinds NewBroken makes, in the order of
// package trust's documentation. Revocation kinds are in revocation.go.
func BrokenKinds() []string {
	return []string{"expired", "not-yet-valid", "name-mismatch", "self-signed", "untrusted-root",
		"missing-intermediate", "weak-signature", "weak-key", "wrong-usage", "not-a-ca", "path-length",
		"name-constraints", "malformed", "pin-mismatch", "expiring-soon"}
}

// NewBroken makes the main scenario for kind.
func NewBroken(kind string) (*Scenario, error) {
	all, err := brokenMakers()
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if m.kind == kind {
			return m.make()
		}
	}
	return nil, fmt.Errorf("testpki: no scenario for kind %q", kind)
}

// BrokenScenarios makes every scenario: the main one of each kind and its
// variants (an expired intermediate, a P-224 key, an IP name...).
func BrokenScenarios() ([]*Scenario, error) {
	all, err := brokenMakers()
	if err != nil {
		return nil, err
	}
	out := make([]*Scenario, 0, len(all))
	for _, m := range all {
		s, err := m.make()
		if err != nil {
			return nil, fmt.Errorf("testpki: scenario %s: %w", m.variant, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// NewGood makes a scenario with nothing wrong: root, intermediate and a
// localhost leaf, the root trusted.
func NewGood() (*Scenario, error) {
	p, err := NewPKI(nil, nil)
	if err != nil {
		return nil, err
	}
	return fromPKI("", "good", "a correct three-level chain", p), nil
}

func fromPKI(kind, variant, about string, p *PKI) *Scenario {
	return &Scenario{Kind: kind, Variant: variant, About: about, Name: "localhost",
		Roots: []*x509.Certificate{p.Root.Cert}, Chain: p.Server.Chain, Key: p.Server.Key}
}

type maker struct {
	kind, variant string
	make          func() (*Scenario, error)
}

// pkiWith makes root → intermediate → leaf with the given leaf and
// intermediate options (loopback names when the leaf has none).
func pkiWith(inter, leaf Options) (*PKI, error) {
	root, err := NewRoot(Options{})
	if err != nil {
		return nil, err
	}
	ia, err := root.NewIntermediate(inter)
	if err != nil {
		return nil, err
	}
	if leaf.DNSNames == nil && leaf.IPAddresses == nil {
		leaf.DNSNames, leaf.IPAddresses = LoopbackNames, LoopbackIPs()
	}
	l, err := ia.Issue(leaf)
	if err != nil {
		return nil, err
	}
	return &PKI{Root: root, Intermediate: ia, Server: l}, nil
}

func simple(kind, variant, about string, inter, leaf Options) maker {
	return maker{kind, variant, func() (*Scenario, error) {
		p, err := pkiWith(inter, leaf)
		if err != nil {
			return nil, err
		}
		return fromPKI(kind, variant, about, p), nil
	}}
}

func brokenMakers() ([]maker, error) {
	now := time.Now()
	day := 24 * time.Hour
	return []maker{
		simple("expired", "expired", "the server's certificate expired ten days ago",
			Options{}, Options{NotBefore: now.Add(-100 * day), NotAfter: now.Add(-10 * day)}),
		simple("expired", "expired-intermediate", "the intermediate expired yesterday",
			Options{NotBefore: now.Add(-400 * day), NotAfter: now.Add(-day)}, Options{}),
		simple("not-yet-valid", "not-yet-valid", "the server's certificate is valid from ten days on",
			Options{}, Options{NotBefore: now.Add(10 * day), NotAfter: now.Add(100 * day)}),
		{"name-mismatch", "name-mismatch", func() (*Scenario, error) {
			p, err := pkiWith(Options{}, Options{DNSNames: []string{"mail.example.org", "smtp.example.org"}, IPAddresses: []net.IP{}})
			if err != nil {
				return nil, err
			}
			return fromPKI("name-mismatch", "name-mismatch", "the certificate is for mail.example.org, not localhost", p), nil
		}},
		{"name-mismatch", "name-mismatch-ip", func() (*Scenario, error) {
			p, err := pkiWith(Options{}, Options{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{}})
			if err != nil {
				return nil, err
			}
			s := fromPKI("name-mismatch", "name-mismatch-ip", "connecting to 127.0.0.1, the certificate lists only localhost", p)
			s.Name = "127.0.0.1"
			return s, nil
		}},
		{"self-signed", "self-signed", func() (*Scenario, error) {
			root, err := NewRoot(Options{})
			if err != nil {
				return nil, err
			}
			l, err := NewSelfSigned(Options{DNSNames: LoopbackNames, IPAddresses: LoopbackIPs()})
			if err != nil {
				return nil, err
			}
			return &Scenario{Kind: "self-signed", Variant: "self-signed", About: "the server presents a self-signed certificate",
				Name: "localhost", Roots: []*x509.Certificate{root.Cert}, Chain: l.Chain, Key: l.Key}, nil
		}},
		{"untrusted-root", "untrusted-root", func() (*Scenario, error) {
			p, err := NewPKI(nil, nil)
			if err != nil {
				return nil, err
			}
			other, err := NewRoot(Options{CommonName: "Some Other Root CA"})
			if err != nil {
				return nil, err
			}
			s := fromPKI("untrusted-root", "untrusted-root", "the chain's root is not among the trusted roots", p)
			s.Roots = []*x509.Certificate{other.Cert}
			return s, nil
		}},
		{"untrusted-root", "untrusted-root-sent", func() (*Scenario, error) {
			p, err := NewPKI(nil, nil)
			if err != nil {
				return nil, err
			}
			other, err := NewRoot(Options{CommonName: "Some Other Root CA"})
			if err != nil {
				return nil, err
			}
			s := fromPKI("untrusted-root", "untrusted-root-sent", "the server sends its root, which is not trusted", p)
			s.Chain = append(append([]*x509.Certificate{}, s.Chain...), p.Root.Cert)
			s.Roots = []*x509.Certificate{other.Cert}
			return s, nil
		}},
		{"missing-intermediate", "missing-intermediate", func() (*Scenario, error) {
			p, err := NewPKI(nil, nil)
			if err != nil {
				return nil, err
			}
			s := fromPKI("missing-intermediate", "missing-intermediate", "the server sends only its own certificate, not the intermediate", p)
			s.Chain = s.Chain[:1]
			return s, nil
		}},
		{"weak-signature", "weak-signature", func() (*Scenario, error) {
			k, err := NewRSAKey(2048)
			if err != nil {
				return nil, err
			}
			p, err := pkiWith(Options{Key: k}, Options{SignatureAlgorithm: x509.SHA1WithRSA})
			if err != nil {
				return nil, err
			}
			return fromPKI("weak-signature", "weak-signature", "the intermediate signed the server's certificate with SHA-1", p), nil
		}},
		{"weak-key", "weak-key", func() (*Scenario, error) {
			k, err := NewRSAKey(1024)
			if err != nil {
				return nil, err
			}
			p, err := pkiWith(Options{}, Options{Key: k})
			if err != nil {
				return nil, err
			}
			return fromPKI("weak-key", "weak-key", "the server's key is RSA 1024", p), nil
		}},
		{"weak-key", "weak-key-p224", func() (*Scenario, error) {
			k, err := NewP224Key()
			if err != nil {
				return nil, err
			}
			p, err := pkiWith(Options{}, Options{Key: k})
			if err != nil {
				return nil, err
			}
			return fromPKI("weak-key", "weak-key-p224", "the server's key is on the P-224 curve", p), nil
		}},
		simple("wrong-usage", "wrong-usage", "the server's certificate is for clientAuth only",
			Options{}, Options{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}),
		simple("wrong-usage", "wrong-usage-intermediate", "the intermediate is limited to emailProtection",
			Options{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}, Options{}),
		simple("wrong-usage", "wrong-usage-ca-keyusage", "the intermediate's key usage lacks keyCertSign",
			Options{KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign}, Options{}),
		{"not-a-ca", "not-a-ca", func() (*Scenario, error) {
			p, err := NewPKI([]string{"fake-ca.example"}, nil)
			if err != nil {
				return nil, err
			}
			l, err := p.Server.AsAuthority(p.Intermediate).Issue(Options{DNSNames: LoopbackNames, IPAddresses: LoopbackIPs()})
			if err != nil {
				return nil, err
			}
			return &Scenario{Kind: "not-a-ca", Variant: "not-a-ca", About: "a server certificate (CA:FALSE) issued the server's certificate",
				Name: "localhost", Roots: []*x509.Certificate{p.Root.Cert}, Chain: l.Chain, Key: l.Key}, nil
		}},
		{"path-length", "path-length", func() (*Scenario, error) {
			root, err := NewRoot(Options{})
			if err != nil {
				return nil, err
			}
			ia, err := root.NewIntermediate(Options{CommonName: "Path-length-0 Intermediate", MaxPathLen: 0, MaxPathLenZero: true})
			if err != nil {
				return nil, err
			}
			sub, err := ia.NewIntermediate(Options{CommonName: "Sub Intermediate"})
			if err != nil {
				return nil, err
			}
			l, err := sub.Issue(Options{DNSNames: LoopbackNames, IPAddresses: LoopbackIPs()})
			if err != nil {
				return nil, err
			}
			return &Scenario{Kind: "path-length", Variant: "path-length", About: "an intermediate with pathLen 0 has another intermediate below it",
				Name: "localhost", Roots: []*x509.Certificate{root.Cert}, Chain: l.Chain, Key: l.Key}, nil
		}},
		simple("name-constraints", "name-constraints", "the intermediate may issue only for example.org",
			Options{Modify: func(t *x509.Certificate) { t.PermittedDNSDomains = []string{"example.org"} }}, Options{}),
		simple("name-constraints", "name-constraints-ip", "the intermediate excludes 127.0.0.0/8",
			Options{Modify: func(t *x509.Certificate) {
				t.ExcludedIPRanges = []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}}
			}}, Options{}),
		simple("malformed", "malformed", "the server's certificate has an unknown critical extension",
			Options{}, Options{Modify: func(t *x509.Certificate) {
				t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: unknownCriticalOID, Critical: true, Value: []byte{0x05, 0x00}})
			}}),
		{"pin-mismatch", "pin-mismatch", func() (*Scenario, error) {
			p, err := NewPKI(nil, nil)
			if err != nil {
				return nil, err
			}
			other, err := NewPKI(nil, nil)
			if err != nil {
				return nil, err
			}
			s := fromPKI("pin-mismatch", "pin-mismatch", "the client pins a key the chain does not have", p)
			s.Pins = []string{spkiPin(other.Server.Cert)}
			return s, nil
		}},
		simple("expiring-soon", "expiring-soon", "the server's certificate expires in three days",
			Options{}, Options{NotAfter: now.Add(3 * day)}),
	}, nil
}

// spkiPin is the "sha256/BASE64" pin of c's key (package trust's SPKIPin,
// repeated here so that testpki does not import the package it tests).
func spkiPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}
