package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
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
// (tlsmail: exit 78, naming the file and what to do; msmtp: 66). Each row
// states msmtp's exit code as well, so that the README's differences are
// locked in: a CRL past its next update (both use it; tlsmail warns), and
// a delta or indirect CRL (msmtp uses its entries, tlsmail refuses the
// file with exit 78).
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
	var crlFileWith func(name string, serial *big.Int, age time.Duration, ext ...pkix.Extension) string
	root := writeFile(t, "root.pem", testpki.CertsPEM(p.Root.Cert), 0o644)
	crlFile := func(name string, serial *big.Int) string {
		return crlFileWith(name, serial, 0)
	}
	crlFileWith = func(name string, serial *big.Int, age time.Duration, ext ...pkix.Extension) string {
		now := time.Now().Add(-age)
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
			ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour), ExtraExtensions: ext,
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
	// RFC 5280 section 5.2.4: deltaCRLIndicator, critical, the base CRL's
	// number; section 5.2.5: issuingDistributionPoint with indirectCRL
	// ([4] TRUE), critical.
	delta := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}
	indirect := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: []byte{0x30, 3, 0x84, 1, 0xff}}
	for _, tc := range []struct {
		name, file string
		delivered  bool   // by tlsmail (msmtp delivers when it exits 0)
		msmtpCode  int    // msmtp's exit code (the README's claim about msmtp)
		code       int    // tlsmail's exit code
		says       string // in tlsmail's standard error
		verbose    bool   // -v for both (tlsmail prints the trust report's warnings)
	}{
		// Revoked: tlsmail keeps the message queued (exit 0, "will not
		// heal"); msmtp refuses the TLS handshake (EX_UNAVAILABLE).
		{"lists the server", crlFile("revoked.pem", p.Server.Cert.SerialNumber), false, 69, 0, "revoked", false},
		{"lists another", crlFile("other.pem", big.NewInt(4242)), true, 0, 0, "", false},
		// "a file that is missing or holds no CRL stops the send with
		// exit 78 ... (msmtp exits 66 for both)".
		{"missing", filepath.Join(dir, "nope.pem"), false, 66, exitConfig, "cannot read the CRL file", false},
		{"no CRL in it", empty, false, 66, exitConfig, "holds no CRL", false},
		// "A CRL past its next update still revokes what it lists (GnuTLS,
		// and so msmtp, uses it silently); tlsmail adds a
		// revocation-unknown warning asking for a fresh file."
		{"past its next update, lists the server", crlFileWith("old-revoked.pem", p.Server.Cert.SerialNumber, 48*time.Hour), false, 69, 0, "revoked", false},
		{"past its next update, lists another", crlFileWith("old-other.pem", big.NewInt(4242), 48*time.Hour), true, 0, 0, "due to be replaced", true},
		// "Unlike msmtp, a delta CRL or an indirect CRL in the file stops
		// the send with exit 78 (GnuTLS reads their entries as
		// revocations ...)": msmtp delivers when it lists another
		// certificate and refuses the server when it lists the server's.
		{"delta CRL listing another", crlFileWith("delta-other.pem", big.NewInt(4242), 0, delta), false, 0, exitConfig, "2.5.29.27", false},
		{"indirect CRL listing another", crlFileWith("indirect-other.pem", big.NewInt(4242), 0, indirect), false, 0, exitConfig, "indirect", false},
		{"delta CRL listing the server", crlFileWith("delta.pem", p.Server.Cert.SerialNumber, 0, delta), false, 69, exitConfig, "2.5.29.27", false},
		{"indirect CRL listing the server", crlFileWith("indirect.pem", p.Server.Cert.SerialNumber, 0, indirect), false, 69, exitConfig, "indirect", false},
	} {
		text := strings.Replace(string(base), "tls_trust_file \n", "tls_trust_file "+root+"\n", 1)
		text = strings.Replace(text, "account local\n", "account local\ntls_crl_file "+tc.file+"\n", 1)
		cfg := writeFile(t, "msmtprc", []byte(text), 0o600)
		var got [2]result
		var delivered [2]bool
		for i, pr := range []proc{{bin: msmtp}, {args: []string{"sendmail"}}} {
			before := storedCount(t, m.srv)
			pr.args = append(pr.args, "-C", cfg, "-i", "bob@example.org")
			if tc.verbose {
				pr.args = append(pr.args, "-v")
			}
			pr.env, pr.stdin = m.env(), strings.NewReader("Subject: crl\n\nhi\n")
			got[i] = pr.run(t)
			if got[i].code == 0 && (i == 0 && tc.msmtpCode == 0 || i == 1 && tc.delivered) {
				waitMessages(t, m.srv, before+1)
			}
			delivered[i] = storedCount(t, m.srv) > before
		}
		if delivered[0] != (tc.msmtpCode == 0) || got[0].code != tc.msmtpCode {
			t.Errorf("%s: msmtp exit %d (%s), delivered %v; the test expects exit %d", tc.name, got[0].code, got[0].stderr, delivered[0], tc.msmtpCode)
		}
		if tm := got[1]; delivered[1] != tc.delivered || tm.code != tc.code || !strings.Contains(tm.stderr, tc.says) {
			t.Errorf("%s: tlsmail exit %d, delivered %v, stderr %q; want exit %d, delivered=%v, saying %q", tc.name, tm.code, delivered[1], tm.stderr, tc.code, tc.delivered, tc.says)
		}
	}
}
