package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testbettertls"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

// unparseableCase is BetterTLS's nameconstraints case 6: a leaf whose
// subjectAltName holds the URI "http://foo.bar, DNS:test.localhost", which
// crypto/x509 cannot parse, under a chain to the suite's root. roots is the
// PEM file of that root.
func unparseableCase(t *testing.T) (c testbettertls.Case, roots string) {
	t.Helper()
	s, err := testbettertls.New()
	if err != nil {
		t.Fatal(err)
	}
	c, err = s.Case(testbettertls.Ref{Suite: testbettertls.NameConstraints, Index: 6})
	if err != nil {
		t.Fatal(err)
	}
	return c, writeFile(t, "root.pem", testpki.CertsPEM(s.Root), 0o644)
}

func chainPEM(ders [][]byte) []byte {
	var b strings.Builder
	for _, d := range ders {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return []byte(b.String())
}

// checkUnparseableJSON checks that the JSON report m names the leaf as an
// unparseable certificate, an error with a fix.
func checkUnparseableJSON(t *testing.T, m map[string]any) {
	t.Helper()
	if kinds := problemKinds(t, m); kinds["unparseable-certificate"] != "error" {
		t.Errorf("problems %v, want an unparseable-certificate error", kinds)
	}
	if ok, _ := m["ok"].(bool); ok {
		t.Error(`"ok": true`)
	}
}

// TestCertVerifyUnparseable: a certificate crypto/x509 cannot parse is a
// problem of the chain (exit 1, kind unparseable-certificate, the leaf
// listed with its fingerprint), in PEM and in DER; exit 66 stays for files
// with no certificate in them, a damaged PEM block included.
func TestCertVerifyUnparseable(t *testing.T) {
	t.Parallel()
	c, roots := unparseableCase(t)
	pemFile := writeFile(t, "chain.pem", chainPEM(c.Chain), 0o644)
	derFile := writeFile(t, "leaf.der", c.Chain[0], 0o644)
	for _, f := range []string{pemFile, derFile} {
		r := runTLSMail(t, "cert", "verify", "--json", "--ca", roots, "--name", c.Host, f)
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", f, r.code, r)
		}
		m := decodeJSON(t, r)
		checkUnparseableJSON(t, m)
		certs, _ := m["certificates"].([]any)
		if len(certs) == 0 {
			t.Fatalf("%s: no certificates listed\n%s", f, r.stdout)
		}
		leaf, _ := certs[0].(map[string]any)
		if leaf["unparsed"] != true || leaf["role"] != "leaf" || leaf["sha256"] == "" {
			t.Errorf("%s: certificate 0 = %v, want the unparsed leaf with its fingerprint", f, leaf)
		}
		r = runTLSMail(t, "cert", "verify", "--ca", roots, "--name", c.Host, f)
		if r.code != 1 || !strings.Contains(r.stdout, "unparseable-certificate [0]") || !strings.Contains(r.stdout, "cannot parse URI") {
			t.Errorf("%s: text output: exit %d\n%s", f, r.code, r)
		}
	}

	noise := make([]byte, 600)
	rand.Read(noise)
	noise[0] = 0x04 // an OCTET STRING, never a certificate
	for name, data := range map[string][]byte{
		"random bytes":        noise,
		"damaged PEM block":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER at all")}),
		"truncated PEM block": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Chain[1][:len(c.Chain[1])/2]}),
	} {
		f := writeFile(t, "bad", data, 0o644)
		r := runTLSMail(t, "cert", "verify", "--json", "--ca", roots, f)
		m := decodeJSON(t, r)
		e, _ := m["error"].(map[string]any)
		if r.code != 66 || e["kind"] != "input" {
			t.Errorf("%s: exit %d, error %v; want 66, kind input\n%s", name, r.code, e, r)
		}
	}
}

// unparseableServer runs the embedded server presenting c's chain.
func unparseableServer(t *testing.T, c testbettertls.Case) *server.Server {
	t.Helper()
	return startServer(t, func(cfg *server.Config) {
		cfg.Certificate = &tls.Certificate{Certificate: c.Chain, PrivateKey: c.Key}
	})
}

// TestProbeUnparseable: probe, against a server whose certificate
// crypto/x509 cannot parse, answers "not trusted" (exit 1) with the
// unparseable-certificate problem, over STARTTLS and implicit TLS; the
// handshake never completed, so "tls" is null.
func TestProbeUnparseable(t *testing.T) {
	t.Parallel()
	c, roots := unparseableCase(t)
	srv := unparseableServer(t, c)
	for mode, addr := range map[string]string{"starttls": srv.SMTPAddr(), "implicit": srv.SMTPSAddr()} {
		r := runTLSMail(t, "probe", "--json", "--tls", mode, "--ca", roots, "--name", c.Host, "--timeout", "30s", addr)
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", mode, r.code, r)
		}
		m := decodeJSON(t, r)
		checkUnparseableJSON(t, m)
		if m["tls"] != nil || m["error"] != nil {
			t.Errorf("%s: tls = %v, error = %v; want both null", mode, m["tls"], m["error"])
		}
		r = runTLSMail(t, "probe", "--tls", mode, "--ca", roots, "--name", c.Host, "--timeout", "30s", addr)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "FAIL: the certificate chain") || !strings.Contains(r.stdout, "unparseable-certificate") ||
			!strings.Contains(r.stdout, "(no certificate could be read)") || strings.Contains(r.stdout, "Certificates:") {
			t.Errorf("%s: text output: exit %d\n%s", mode, r.code, r)
		}
	}
}

// TestSendUnparseable: send refuses such a server as for any other
// certificate failure (exit 75, JSON error kind certificate), naming the
// problem; --insecure cannot get past it, and no message is delivered.
func TestSendUnparseable(t *testing.T) {
	t.Parallel()
	c, roots := unparseableCase(t)
	srv := unparseableServer(t, c)
	for _, extra := range [][]string{{"--tls", "implicit", "--tls-name", c.Host}, {"--tls", "implicit", "--tls-name", c.Host, "--insecure"}} {
		args := append(baseSend(srv.SMTPSAddr(), roots, extra...), "--json")
		r := cli{args: args, env: authEnv()}.run(t)
		if r.code != 75 {
			t.Errorf("%v: exit %d, want 75\n%s", extra, r.code, r)
		}
		m := decodeJSON(t, r)
		e, _ := m["error"].(map[string]any)
		if e["kind"] != "certificate" {
			t.Errorf("%v: error kind %v, want certificate\n%s", extra, e["kind"], r.stdout)
		}
		if kinds := problemKinds(t, e); kinds["unparseable-certificate"] != "error" {
			t.Errorf("%v: problems %v, want unparseable-certificate", extra, kinds)
		}
	}
	if ms, err := srv.Messages(); err != nil || len(ms) != 0 {
		t.Errorf("%d message(s) delivered (%v)", len(ms), err)
	}
}
