package schannel

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/pkcs12"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestEncodePFX: what encodePFX writes, two independent PKCS#12 readers
// (golang.org/x/crypto/pkcs12 and, when installed, OpenSSL) read back: the
// MAC verifies with the password and with no other, the key decrypts to the
// same key, and the leaf and its intermediate are there.
func TestEncodePFX(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{CommonName: "pfx root"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{CommonName: "pfx intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := testpki.NewRSAKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []struct {
		name string
		opts testpki.Options
	}{{"rsa", testpki.Options{CommonName: "pfx client rsa", Key: rsaKey}}, {"ecdsa", testpki.Options{CommonName: "pfx client ecdsa"}}} {
		t.Run(key.name, func(t *testing.T) {
			leaf, err := inter.Issue(key.opts)
			if err != nil {
				t.Fatal(err)
			}
			const password = "0123456789abcdef"
			pfx, err := encodePFX(leaf.Key, leaf.Cert.Raw, [][]byte{inter.Cert.Raw}, password)
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := pkcs12.ToPEM(pfx, password)
			if err != nil {
				t.Fatalf("x/crypto/pkcs12 cannot read it: %v", err)
			}
			var certs [][]byte
			var keys int
			for _, b := range blocks {
				switch b.Type {
				case "CERTIFICATE":
					certs = append(certs, b.Bytes)
				case "PRIVATE KEY":
					keys++
					k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
					if err != nil {
						k2, err2 := x509.ParseECPrivateKey(b.Bytes)
						if err2 != nil {
							t.Fatalf("the key read back does not parse: %v, %v", err, err2)
						}
						if !k2.Equal(leaf.Key) {
							t.Error("the ECDSA key read back differs")
						}
						continue
					}
					if r, ok := leaf.Key.(*rsa.PrivateKey); !ok || !k.Equal(r) {
						t.Error("the RSA key read back differs")
					}
				}
			}
			if keys != 1 || len(certs) != 2 || !bytes.Equal(certs[0], leaf.Cert.Raw) || !bytes.Equal(certs[1], inter.Cert.Raw) {
				t.Errorf("read back %d keys and %d certificates (leaf first: %v), want 1 and the leaf then the intermediate",
					keys, len(certs), len(certs) > 0 && bytes.Equal(certs[0], leaf.Cert.Raw))
			}
			if _, err := pkcs12.ToPEM(pfx, "another password"); err == nil {
				t.Error("the PFX opens with a wrong password: the MAC is not checked")
			}
			openssl(t, pfx, password, leaf.Cert.Raw, inter.Cert.Raw)
		})
	}
}

// openssl checks pfx with 'openssl pkcs12' when OpenSSL is installed.
func openssl(t *testing.T, pfx []byte, password string, want ...[]byte) {
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed: checked with x/crypto/pkcs12 only")
		return
	}
	f := filepath.Join(testdir.New(t), "client.p12")
	if err := os.WriteFile(f, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "pkcs12", "-in", f, "-passin", "pass:"+password, "-nodes").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PRIVATE KEY-----") {
		t.Errorf("openssl found no private key:\n%s", out)
	}
	for _, der := range want {
		if !bytes.Contains(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) {
			t.Errorf("openssl did not find a certificate")
		}
	}
}
