package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestNewPKIVerifies(t *testing.T) {
	tests := []struct {
		name  string
		dns   []string
		ips   []net.IP
		check string // name or IP to verify
		ok    bool
	}{
		{"default localhost", nil, nil, "localhost", true},
		{"default 127.0.0.1", nil, nil, "127.0.0.1", true},
		{"default ::1", nil, nil, "::1", true},
		{"default other name", nil, nil, "example.org", false},
		{"given name", []string{"mx.example.org"}, nil, "mx.example.org", true},
		{"given name, not localhost", []string{"mx.example.org"}, nil, "localhost", false},
		{"given IP", nil, []net.IP{net.ParseIP("192.0.2.7")}, "192.0.2.7", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPKI(tt.dns, tt.ips)
			if err != nil {
				t.Fatal(err)
			}
			inter := x509.NewCertPool()
			for _, c := range p.Server.Chain[1:] {
				inter.AddCert(c)
			}
			_, err = p.Server.Cert.Verify(x509.VerifyOptions{DNSName: tt.check, Roots: p.Root.Pool(),
				Intermediates: inter})
			if (err == nil) != tt.ok {
				t.Fatalf("verify %s: err = %v, want ok=%v", tt.check, err, tt.ok)
			}
		})
	}
}

func TestTemplateDefaults(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		ca      bool
		usage   x509.KeyUsage
		ext     []x509.ExtKeyUsage
		isCA    bool
		orgWant string
	}{
		{"leaf", Options{}, false, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, ""},
		{"ca", Options{}, true, x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, nil, true, ""},
		{"leaf clientAuth", Options{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false,
			x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false, ""},
		{"organization", Options{Organization: "Example"}, false, x509.KeyUsageDigitalSignature,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, "Example"},
		{"modify last", Options{Modify: func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }}, false,
			x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.o.Template(tt.ca)
			if c.KeyUsage != tt.usage || c.IsCA != tt.isCA || !c.BasicConstraintsValid {
				t.Errorf("usage %v isCA %v basic %v; want %v %v true", c.KeyUsage, c.IsCA, c.BasicConstraintsValid, tt.usage, tt.isCA)
			}
			if len(c.ExtKeyUsage) != len(tt.ext) || (len(tt.ext) > 0 && c.ExtKeyUsage[0] != tt.ext[0]) {
				t.Errorf("ext usage %v, want %v", c.ExtKeyUsage, tt.ext)
			}
			if tt.orgWant != "" && (len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != tt.orgWant) {
				t.Errorf("organization %v, want %s", c.Subject.Organization, tt.orgWant)
			}
			if !c.NotBefore.Before(time.Now()) || !c.NotAfter.After(time.Now().Add(80*24*time.Hour)) {
				t.Errorf("validity %v..%v does not cover now and the next 80 days", c.NotBefore, c.NotAfter)
			}
			if c.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v is not positive", c.SerialNumber)
			}
		})
	}
}

func TestIssueChain(t *testing.T) {
	root, err := NewRoot(Options{})
	if err != nil {
		t.Fatal(err)
	}
	i1, err := root.NewIntermediate(Options{CommonName: "I1"})
	if err != nil {
		t.Fatal(err)
	}
	i2, err := i1.NewIntermediate(Options{CommonName: "I2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		by    *Authority
		chain []string // subjects of Leaf.Chain after the leaf
	}{
		{"by root", root, nil},
		{"by intermediate", i1, []string{"I1"}},
		{"by second intermediate", i2, []string{"I2", "I1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.by.Issue(Options{DNSNames: []string{"a.example"}})
			if err != nil {
				t.Fatal(err)
			}
			if l.Cert.Subject.CommonName != "a.example" {
				t.Errorf("CN %q, want the first DNS name", l.Cert.Subject.CommonName)
			}
			if len(l.Chain) != 1+len(tt.chain) || l.Chain[0] != l.Cert {
				t.Fatalf("chain has %d certificates, want %d with the leaf first", len(l.Chain), 1+len(tt.chain))
			}
			for i, cn := range tt.chain {
				if got := l.Chain[i+1].Subject.CommonName; got != cn {
					t.Errorf("chain[%d] = %q, want %q", i+1, got, cn)
				}
			}
			if tt.by.Root() != root {
				t.Errorf("Root() is not the root")
			}
		})
	}
}

func TestSelfSignedAndAsAuthority(t *testing.T) {
	l, err := NewSelfSigned(Options{DNSNames: []string{"self.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Cert.CheckSignatureFrom(l.Cert); err == nil {
		t.Error("a self-signed leaf (not a CA) passed CheckSignatureFrom itself; x509 should refuse a non-CA parent")
	}
	if err := l.Cert.CheckSignature(l.Cert.SignatureAlgorithm, l.Cert.RawTBSCertificate, l.Cert.Signature); err != nil {
		t.Errorf("self-signature does not verify: %v", err)
	}
	if l.Cert.IsCA || len(l.Chain) != 1 {
		t.Errorf("IsCA %v, chain %d; want a lone end-entity certificate", l.Cert.IsCA, len(l.Chain))
	}
	root, _ := NewRoot(Options{})
	leaf, _ := root.Issue(Options{DNSNames: []string{"leaf.example"}})
	a := leaf.AsAuthority(root)
	if a.Cert != leaf.Cert || a.Root() != root {
		t.Error("AsAuthority does not keep the leaf and its issuer")
	}
}

// TestWriteFilesServeTLS writes the files, loads them back as a server
// would, and completes a real TLS handshake over loopback.
func TestWriteFilesServeTLS(t *testing.T) {
	p, err := NewPKI(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, certFile, keyFile, err := p.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if caFile != filepath.Join(dir, "ca.pem") || certFile != filepath.Join(dir, "server.pem") || keyFile != filepath.Join(dir, "server.key") {
		t.Errorf("paths %s %s %s", caFile, certFile, keyFile)
	}
	if fi, err := os.Stat(keyFile); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.(*tls.Conn).Handshake()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("handshake against the written files: %v", err)
	}
	c.Close()
}

func TestKeyPEMRoundTrip(t *testing.T) {
	k := NewKey()
	b, err := KeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPKI(nil, nil)
	if _, err := tls.X509KeyPair(CertsPEM(p.Server.Cert), b); err == nil {
		t.Error("a foreign key matched the certificate")
	}
	kp, _ := KeyPEM(p.Server.Key)
	if _, err := tls.X509KeyPair(CertsPEM(p.Server.Chain...), kp); err != nil {
		t.Errorf("own key does not match: %v", err)
	}
}
