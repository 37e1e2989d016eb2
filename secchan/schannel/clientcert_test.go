//go:build windows

package schannel

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestStoreClientCert puts the fixture client certificate (with its key in
// a key container) into CurrentUser\MY, then selects it by thumbprint and by
// subject: the server must receive it.
func TestStoreClientCert(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	// A client certificate with a subject of its own: leftovers of an
	// interrupted run (same subject, another key) cannot be picked.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := f.ClientRoot.Issue(testpki.Options{CommonName: "tlsmail store client " + rand.Text()[:12], Key: key,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := certFromTLS(leaf.TLSCertificate())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.free()
	// Wine 8.0 writes a registry-backed store out only when its handle is
	// closed (not on add, nor on CertControlStore(CERT_STORE_CTRL_COMMIT)):
	// until then another CertOpenStore of the same store does not see the
	// certificate. So the store is opened, changed and closed each time.
	name, _ := windows.UTF16PtrFromString("MY")
	withStore := func(fn func(store windows.Handle) error) error {
		store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
		runtime.KeepAlive(name)
		if err != nil {
			return err
		}
		err = fn(store)
		if cerr := windows.CertCloseStore(store, 0); err == nil {
			err = cerr
		}
		return err
	}
	err = withStore(func(store windows.Handle) error {
		return windows.CertAddCertificateContextToStore(store, cc.ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sum := sha1.Sum(leaf.Cert.Raw)
		if err := RemoveFromStore(StoreCert{Thumbprint: hex.EncodeToString(sum[:])}); err != nil {
			t.Errorf("removing the test certificate: %v", err)
		}
	}()

	sum := sha1.Sum(leaf.Cert.Raw)
	for _, sel := range []StoreCert{
		{Thumbprint: hex.EncodeToString(sum[:])},
		{Store: "MY", Subject: leaf.Cert.Subject.CommonName},
	} {
		t.Run("thumbprint="+sel.Thumbprint+",subject="+sel.Subject, func(t *testing.T) {
			scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
			scfg.ClientAuth = tls.RequireAndVerifyClientCert
			scfg.ClientCAs = f.ClientRoot.Pool()
			srv := secchantest.Serve(t, func(raw net.Conn) error {
				c := tls.Server(raw, scfg)
				if err := c.Handshake(); err != nil {
					return err
				}
				if p := c.ConnectionState().PeerCertificates; len(p) == 0 || !p[0].Equal(leaf.Cert) {
					return errors.New("the client did not present the store certificate")
				}
				_, err := c.Write([]byte("ok"))
				return err
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := f.ClientConfig()
			conn, err := secchantest.Dial(ctx, Provider{ClientCert: &sel}, srv.Addr, cfg)
			if err != nil {
				t.Fatalf("handshake: %v (server: %v)", err, srv.Wait())
			}
			defer conn.Close()
			buf := make([]byte, 2)
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := conn.Read(buf); err != nil || string(buf) != "ok" {
				t.Errorf("read %q, %v", buf, err)
			}
			if err := srv.Wait(); err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
}

// TestStoreClientCertErrors checks the errors for a certificate that is not
// there: they name the store.
func TestStoreClientCertErrors(t *testing.T) {
	cases := []struct {
		sel  StoreCert
		want string
	}{
		{StoreCert{Thumbprint: "00112233445566778899aabbccddeeff00112233"}, `CurrentUser\MY`},
		{StoreCert{Thumbprint: "not hex"}, "40 hex digits"},
		{StoreCert{Subject: "no such subject, surely"}, "no certificate's subject contains"},
		{StoreCert{}, "no thumbprint or subject"},
	}
	for _, c := range cases {
		_, err := c.sel.open()
		var ce *CertError
		if !errors.As(err, &ce) {
			t.Errorf("%+v: error %v, want a *CertError", c.sel, err)
			continue
		}
		if !contains(err.Error(), c.want) {
			t.Errorf("%+v: error %q does not say %q", c.sel, err, c.want)
		}
	}
	_, err := secchantest.Dial(context.Background(), Provider{ClientCert: &cases[0].sel}, "127.0.0.1:1", &secchan.Config{})
	if err == nil {
		t.Error("dial to a closed port succeeded")
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// TestAddToStore imports a client certificate with AddToStore, selects it
// by the returned thumbprint for a server that requires it, removes it with
// RemoveFromStore, and checks that neither the certificate nor its key
// container is left.
func TestAddToStore(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := f.ClientRoot.Issue(testpki.Options{CommonName: "tlsmail AddToStore " + rand.Text()[:12], Key: key,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := AddToStore(StoreCert{}, leaf.TLSCertificate())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(leaf.Cert.Raw)
	if want := hex.EncodeToString(sum[:]); !strings.EqualFold(tp, want) {
		t.Errorf("thumbprint %s, want %s", tp, want)
	}
	sel := StoreCert{Thumbprint: tp}
	removed := false
	defer func() {
		if !removed {
			RemoveFromStore(sel)
		}
	}()
	cc, err := sel.open()
	if err != nil {
		t.Fatal(err)
	}
	container := keyContainer(cc.ctx)
	cc.free()
	if !strings.HasPrefix(container, "tlsmail-") {
		t.Errorf("the stored certificate's key container is %q, want tlsmail-*", container)
	}

	scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
	scfg.ClientAuth = tls.RequireAndVerifyClientCert
	scfg.ClientCAs = f.ClientRoot.Pool()
	srv := secchantest.Serve(t, func(raw net.Conn) error {
		c := tls.Server(raw, scfg)
		if err := c.Handshake(); err != nil {
			return err
		}
		if p := c.ConnectionState().PeerCertificates; len(p) == 0 || !p[0].Equal(leaf.Cert) {
			return errors.New("the client did not present the stored certificate")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := secchantest.Dial(ctx, Provider{ClientCert: &sel}, srv.Addr, f.ClientConfig())
	if err != nil {
		t.Fatalf("handshake: %v (server: %v)", err, srv.Wait())
	}
	conn.Close()
	if err := srv.Wait(); err != nil {
		t.Errorf("server: %v", err)
	}

	if err := RemoveFromStore(sel); err != nil {
		t.Fatal(err)
	}
	removed = true
	var ce *CertError
	if _, err := sel.open(); !errors.As(err, &ce) {
		t.Errorf("after RemoveFromStore, open: %v, want a *CertError", err)
	}
	name, _ := windows.UTF16PtrFromString(container)
	provName, _ := windows.UTF16PtrFromString(msEnhRSAAESProv)
	var prov windows.Handle
	if err := windows.CryptAcquireContext(&prov, name, provName, windows.PROV_RSA_AES, 0); err == nil {
		windows.CryptReleaseContext(prov, 0)
		t.Errorf("the key container %s is still there after RemoveFromStore", container)
	}
	if err := RemoveFromStore(sel); !errors.As(err, &ce) {
		t.Errorf("removing twice: %v, want a *CertError", err)
	}
}

// TestRSAPrivateKeyBlobRoundTrip: parseRSAPrivateKeyBlob reads back what
// rsaPrivateKeyBlob writes (the format CryptExportKey gives LoadPFX).
func TestRSAPrivateKeyBlobRoundTrip(t *testing.T) {
	for _, bits := range []int{1024, 2048, 3072} {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		blob, err := rsaPrivateKeyBlob(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseRSAPrivateKeyBlob(blob)
		if err != nil {
			t.Fatalf("%d bits: %v", bits, err)
		}
		if !got.PublicKey.Equal(&key.PublicKey) || got.Primes[0].Cmp(key.Primes[0]) != 0 || got.Primes[1].Cmp(key.Primes[1]) != 0 {
			t.Errorf("%d bits: the key read back differs", bits)
		}
		sum := sha256.Sum256([]byte("tlsmail"))
		sig, err := rsa.SignPKCS1v15(rand.Reader, got, crypto.SHA256, sum[:])
		if err != nil || rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			t.Errorf("%d bits: the key read back does not sign for the original (%v)", bits, err)
		}
		blob[25] ^= 1 // a prime changed: p*q is not N
		if _, err := parseRSAPrivateKeyBlob(blob); err == nil {
			t.Errorf("%d bits: an inconsistent blob was accepted", bits)
		}
		blob[8] ^= 1 // not "RSA2"
		if _, err := parseRSAPrivateKeyBlob(blob); err == nil {
			t.Errorf("%d bits: a blob with a bad magic was accepted", bits)
		}
		if _, err := parseRSAPrivateKeyBlob(blob[:40]); err == nil {
			t.Errorf("%d bits: a truncated blob was accepted", bits)
		}
	}
}

// TestLoadPFXErrors: what is not a PKCS#12 file is a *CertError. (Real PFX
// files, made by OpenSSL, are loaded end to end by scripts/wine-e2e.sh.)
func TestLoadPFXErrors(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("-----BEGIN CERTIFICATE-----\n"), {0x30, 0x03, 0x02, 0x01, 0x03}} {
		_, err := LoadPFX(data, "secret")
		var ce *CertError
		if !errors.As(err, &ce) || ce.Where != "PFX file" {
			t.Errorf("LoadPFX(%q): %v, want a *CertError for the PFX file", data, err)
		}
	}
}

// TestRSAPrivateKeyBlobUnbalancedPrimes: a valid RSA key whose primes are
// not of half the modulus's length (a --key file from another generator)
// cannot be written as a PRIVATEKEYBLOB, whose prime fields are exactly
// half the modulus long: rsaPrivateKeyBlob must say so with an error, not
// panic on the field that does not fit.
func TestRSAPrivateKeyBlobUnbalancedPrimes(t *testing.T) {
	p, err := rand.Prime(rand.Reader, 1040)
	if err != nil {
		t.Fatal(err)
	}
	q, err := rand.Prime(rand.Reader, 1008)
	if err != nil {
		t.Fatal(err)
	}
	one := big.NewInt(1)
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	phi := new(big.Int).Mul(pm1, qm1)
	e := big.NewInt(65537)
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		t.Skip("65537 is not invertible for these primes; run again")
	}
	key := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}, D: d, Primes: []*big.Int{p, q}}
	if err := key.Validate(); err != nil {
		t.Fatalf("the test key is not valid: %v", err)
	}
	key.Precompute()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("rsaPrivateKeyBlob panicked on a %d-bit key with %d- and %d-bit primes: %v", key.N.BitLen(), p.BitLen(), q.BitLen(), r)
		}
	}()
	if _, err := rsaPrivateKeyBlob(key); err == nil {
		t.Errorf("a key with %d- and %d-bit primes was written as a blob whose prime fields hold %d bits", p.BitLen(), q.BitLen(), 8*((key.N.BitLen()+15)/16))
	}
}
