package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

// TestMsmtpCRLFile (issue 14 item 13): tls_crl_file is honoured as msmtp
// honours it. Side by side against a server whose certificate a CRL in the
// file lists, neither sends the message (tlsmail names the revocation);
// with a CRL of the same CA that does not list it, both deliver. A file
// that does not exist, or holds no CRL, stops both before anything is sent
// (tlsmail: exit 78, naming the file and what to do).
func TestMsmtpCRLFile(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	p, err := testpki.NewPKI([]string{"localhost"}, testpki.LoopbackIPs())
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: p.Server.Key, Leaf: p.Server.Cert}
	for _, c := range p.Server.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	m := newMailbox(t, func(c *server.Config) { c.Certificate = &cert }, nil)
	dir := t.TempDir()
	root := writeFile(t, "root.pem", testpki.CertsPEM(p.Root.Cert), 0o644)
	crlFile := func(name string, serial *big.Int) string {
		now := time.Now()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
			ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial, RevocationTime: now.Add(-time.Minute)}}},
			p.Intermediate.Cert, p.Intermediate.Key)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, "empty.pem", []byte("no CRL here\n"), 0o644)
	for _, tc := range []struct {
		name, file string
		delivered  bool
		code       int    // tlsmail's exit code
		says       string // in tlsmail's standard error
	}{
		{"lists the server", crlFile("revoked.pem", p.Server.Cert.SerialNumber), false, 0, "revoked"},
		{"lists another", crlFile("other.pem", big.NewInt(4242)), true, 0, ""},
		{"missing", filepath.Join(dir, "nope.pem"), false, exitConfig, "cannot read the CRL file"},
		{"no CRL in it", empty, false, exitConfig, "holds no CRL"},
	} {
		text := strings.Replace(string(base), "tls_trust_file \n", "tls_trust_file "+root+"\n", 1)
		text = strings.Replace(text, "account local\n", "account local\ntls_crl_file "+tc.file+"\n", 1)
		cfg := writeFile(t, "msmtprc", []byte(text), 0o600)
		var got [2]result
		var delivered [2]bool
		for i, pr := range []proc{{bin: msmtp}, {args: []string{"sendmail"}}} {
			before := storedCount(t, m.srv)
			pr.args = append(pr.args, "-C", cfg, "-i", "bob@example.org")
			pr.env, pr.stdin = m.env(), strings.NewReader("Subject: crl\n\nhi\n")
			got[i] = pr.run(t)
			if got[i].code == 0 && tc.delivered {
				waitMessages(t, m.srv, before+1)
			}
			delivered[i] = storedCount(t, m.srv) > before
		}
		if delivered[0] != tc.delivered || (got[0].code == 0) != tc.delivered {
			t.Errorf("%s: msmtp exit %d (%s), delivered %v; the test expects delivered=%v", tc.name, got[0].code, got[0].stderr, delivered[0], tc.delivered)
		}
		if tm := got[1]; delivered[1] != tc.delivered || tm.code != tc.code || !strings.Contains(tm.stderr, tc.says) {
			t.Errorf("%s: tlsmail exit %d, delivered %v, stderr %q; want exit %d, delivered=%v, saying %q", tc.name, tm.code, delivered[1], tm.stderr, tc.code, tc.delivered, tc.says)
		}
	}
}
