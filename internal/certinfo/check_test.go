package certinfo

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// keyPairFiles writes a scenario's chain and key and returns their paths.
func keyPairFiles(t *testing.T, s *testpki.Scenario) (dir, ca, chain, key string) {
	t.Helper()
	dir = t.TempDir()
	ca, chain, key, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ca, chain, key
}

func TestCheckKeyPair(t *testing.T) {
	good, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	missing, err := testpki.NewBroken("missing-intermediate")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		s     *testpki.Scenario
		setup func(t *testing.T, dir, chain, key string) (string, string) // may rewrite the files
		opts  func(*trust.Options)
		kinds []trust.Kind
		ok    bool
		match bool
		text  []string
	}{
		{name: "good", s: good, ok: true, match: true, text: []string{"OK: the certificate chain for localhost is trusted", "matches    yes", "(mode 0600)"}},
		{name: "other key", s: good, setup: func(t *testing.T, dir, chain, key string) (string, string) {
			kp, _ := testpki.KeyPEM(other.Key)
			os.WriteFile(key, kp, 0o600)
			return chain, key
		}, kinds: []trust.Kind{KindKeyMismatch}, text: []string{"does not belong to certificate 0", "matches    no"}},
		{name: "intermediate first", s: good, setup: func(t *testing.T, dir, chain, key string) (string, string) {
			os.WriteFile(chain, testpki.CertsPEM(good.Chain[1], good.Chain[0]), 0o644)
			return chain, key
		}, kinds: []trust.Kind{KindKeyMismatch}, text: []string{"it belongs to certificate 1", "put the server's own certificate first"}},
		{name: "world-readable key", s: good, setup: func(t *testing.T, dir, chain, key string) (string, string) {
			os.Chmod(key, 0o644)
			return chain, key
		}, kinds: []trust.Kind{KindKeyPermissions}, ok: true, match: true, text: []string{"readable by every user", "(mode 0644)", "chmod 600"}},
		{name: "encrypted key", s: good, setup: func(t *testing.T, dir, chain, key string) (string, string) {
			os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600)
			return chain, key
		}, kinds: []trust.Kind{KindKeyEncrypted}, text: []string{"encrypted with a passphrase", "openssl pkey"}},
		{name: "PKCS#1 RSA key", s: nil, ok: true, match: true, text: []string{"key        RSA 2048"}},
		{name: "leaf only", s: missing, kinds: []trust.Kind{trust.KindMissingIntermediate}, match: true, text: []string{"fullchain.pem"}},
		{name: "wrong name", s: good, opts: func(o *trust.Options) { o.Name = "mail.example.org" },
			kinds: []trust.Kind{trust.KindNameMismatch}, match: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			if s == nil { // an RSA key in the PKCS#1 form
				k, err := testpki.NewRSAKey(2048)
				if err != nil {
					t.Fatal(err)
				}
				root, err := testpki.NewRoot(testpki.Options{})
				if err != nil {
					t.Fatal(err)
				}
				l, err := root.Issue(testpki.Options{DNSNames: []string{"localhost"}, Key: k})
				if err != nil {
					t.Fatal(err)
				}
				s = &testpki.Scenario{Name: "localhost", Roots: []*x509.Certificate{root.Cert}, Chain: l.Chain, Key: k}
			}
			dir, ca, chain, key := keyPairFiles(t, s)
			if tt.s == nil {
				der := x509.MarshalPKCS1PrivateKey(s.Key.(*rsa.PrivateKey))
				os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
			}
			if tt.setup != nil {
				chain, key = tt.setup(t, dir, chain, key)
			}
			roots, err := LoadRoots(ca)
			if err != nil {
				t.Fatal(err)
			}
			opts := trust.Options{Roots: roots, Name: "localhost"}
			if tt.opts != nil {
				tt.opts(&opts)
			}
			res, err := CheckKeyPair(context.Background(), chain, key, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.ok {
				t.Errorf("OK = %v, want %v: %v", res.OK, tt.ok, res.Problems)
			}
			if res.Key == nil || res.Key.MatchesCert != tt.match {
				t.Errorf("key info %+v, want match %v", res.Key, tt.match)
			}
			for _, k := range tt.kinds {
				if !hasKind(res, k) {
					t.Errorf("no %s in %v", k, res.Problems)
				}
			}
			if len(tt.kinds) == 0 && len(res.Problems) > 0 {
				t.Errorf("unexpected problems %v", res.Problems)
			}
			var buf bytes.Buffer
			res.WriteText(&buf)
			for _, w := range tt.text {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
			if res.OK != tt.ok {
				t.Errorf("OK = %v, want %v", res.OK, tt.ok)
			}
		})
	}
}

func TestCheckKeyPairInputErrors(t *testing.T) {
	good, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir, _, chain, key := keyPairFiles(t, good)
	notKey := filepath.Join(dir, "notkey.pem")
	os.WriteFile(notKey, testpki.CertsPEM(good.Chain[0]), 0o600)
	tests := []struct{ cert, key, want string }{
		{filepath.Join(dir, "nope.pem"), key, "does not exist"},
		{chain, filepath.Join(dir, "nope.key"), "private key file does not exist"},
		{chain, notKey, "no private key found, only CERTIFICATE"},
		{chain, chain, "no private key found"},
	}
	for _, tt := range tests {
		_, err := CheckKeyPair(context.Background(), tt.cert, tt.key, trust.Options{})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s / %s: %v, want an input error with %q", tt.cert, tt.key, err, tt.want)
		}
	}
}
