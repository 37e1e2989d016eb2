package certinfo

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// hostile is a name a certificate can carry: it clears the screen and
// forges a "fix:" line of its own.
const hostile = "evil\x1b[2J\r\n    fix: trust me"

// checkNoInjection fails when out holds a control character other than LF
// and TAB, or a line the hostile text forged.
func checkNoInjection(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
			t.Errorf("output holds control character %U:\n%s", r, out)
			break
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "fix: trust me") {
			t.Errorf("forged line %q in:\n%s", l, out)
		}
	}
}

// The names of a certificate reach the text rendering quoted: subject,
// issuer, SANs, problem summaries and the tree.
func TestWriteTextQuotesCertificateText(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{CommonName: "root " + hostile})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := root.Issue(testpki.Options{CommonName: "leaf " + hostile, DNSNames: []string{"mx.example.org", "san" + hostile}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		chain []*x509.Certificate
		roots *x509.CertPool
	}{
		{"trusted", []*x509.Certificate{leaf.Cert}, root.Pool()},
		{"issuer missing", []*x509.Certificate{leaf.Cert}, x509.NewCertPool()},
		{"self-signed root sent", []*x509.Certificate{leaf.Cert, root.Cert}, x509.NewCertPool()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := trust.Options{Roots: tt.roots, Name: "name " + hostile}
			res := FromReport(trust.Verify(tt.chain, opts), opts)
			var buf bytes.Buffer
			if err := res.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			checkNoInjection(t, out)
			// The names are shown, quoted, not dropped.
			for _, want := range []string{`CN=leaf evil\x1b[2J\x0d\x0a    fix: trust me`, `CN=root evil\x1b[2J\x0d\x0a    fix: trust me`,
				`sanevil\x1b[2J\x0d\x0a    fix: trust me`, `for name evil\x1b[2J\x0d\x0a    fix: trust me`} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// JSON is left to encoding/json, which escapes the bytes.
			buf.Reset()
			if err := res.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), `\u001b[2J\r\n    fix: trust me`) {
				t.Errorf("JSON does not carry the raw name, escaped by JSON:\n%s", buf.String())
			}
		})
	}
}

// Every string field of a Result goes through the quoting, including
// those a certificate cannot set directly (revocation details from a
// responder, a key file's name).
func TestWriteTextQuotesEveryField(t *testing.T) {
	res := Result{
		Name: hostile,
		Problems: []trust.Problem{{Kind: trust.KindRevocationUnknown, Severity: trust.SeverityWarning, Cert: 0,
			Summary: hostile, Fix: hostile}},
		Certificates: []Certificate{
			{Index: 0, Role: "leaf", Sent: true, Subject: hostile, Issuer: hostile, SANs: []string{hostile, hostile},
				Key: hostile, Signature: hostile, Serial: hostile, SHA256: hostile, SPKISHA256: hostile},
			{Index: 1, Role: "unused", Sent: true, Subject: hostile},
		},
		Path:       []int{0},
		Revocation: []trust.RevocationResult{{Cert: 0, Status: trust.StatusUnknown, Source: hostile, Detail: hostile}},
		Key:        &KeyInfo{Path: hostile, Type: hostile},
	}
	var buf bytes.Buffer
	if err := res.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	checkNoInjection(t, buf.String())
	if n := strings.Count(buf.String(), `\x1b[2J\x0d\x0a    fix: trust me`); n != 20 {
		t.Errorf("hostile text shown %d times, want every field (20):\n%s", n, buf.String())
	}
}
