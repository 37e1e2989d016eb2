//go:build windows

package schannel

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// TestLocalMachineClientCert: a client certificate in LocalMachine\MY
// (--cert-store LocalMachine\MY), added with AddToStore, selected by
// thumbprint and by subject, is presented to a server that requires one;
// RemoveFromStore deletes it. (Whether CurrentUser\MY shows it is not
// checked: Wine's CurrentUser stores include the machine's.) Changing a
// LocalMachine store needs an administrator on Windows (the hosted runner
// is one); a user without the right is told so, and the test skips only
// outside the native job.
func TestLocalMachineClientCert(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := f.ClientRoot.Issue(testpki.Options{CommonName: "tlsmail machine client " + rand.Text()[:12], Key: key,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	machine := StoreCert{Store: "MY", LocalMachine: true}
	tp, err := AddToStore(machine, leaf.TLSCertificate())
	if err != nil {
		if strings.Contains(err.Error(), "Access is denied") && os.Getenv(nativeWindowsEnv) != "1" {
			t.Skipf("not an administrator: %v", err)
		}
		t.Fatalf(`adding to LocalMachine\MY: %v`, err)
	}
	removed := false
	defer func() {
		if !removed {
			if err := RemoveFromStore(StoreCert{Store: "MY", LocalMachine: true, Thumbprint: tp}); err != nil {
				t.Errorf(`removing the test certificate from LocalMachine\MY: %v`, err)
			}
		}
	}()

	// Where it went: the machine's registry store, not the user's (the
	// registry stores themselves, not the logical ones, which under Wine
	// merge the two).
	hash, err := (&StoreCert{Thumbprint: tp}).thumbprintHash()
	if err != nil {
		t.Fatal(err)
	}
	if !inRegistryStore(t, machine, hash) {
		t.Error(`AddToStore(LocalMachine) did not put the certificate in the LocalMachine\MY registry store`)
	}
	if inRegistryStore(t, StoreCert{Store: "MY"}, hash) {
		t.Error(`AddToStore(LocalMachine) put the certificate in the CurrentUser\MY registry store`)
	}
	for _, sel := range []StoreCert{
		{Store: "MY", LocalMachine: true, Thumbprint: tp},
		{Store: "MY", LocalMachine: true, Subject: leaf.Cert.Subject.CommonName},
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
					return errors.New("the client did not present the LocalMachine certificate")
				}
				_, err := c.Write([]byte("ok"))
				return err
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := secchantest.Dial(ctx, Provider{ClientCert: &sel}, srv.Addr, f.ClientConfig())
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

	if err := RemoveFromStore(StoreCert{Store: "MY", LocalMachine: true, Thumbprint: tp}); err != nil {
		t.Fatalf(`removing from LocalMachine\MY: %v`, err)
	}
	removed = true
	if cc, err := (&StoreCert{Store: "MY", LocalMachine: true, Thumbprint: tp}).open(); err == nil {
		cc.free()
		t.Error(`the certificate is still in LocalMachine\MY after RemoveFromStore`)
	}
}

// inRegistryStore reports whether the registry store s names holds the
// certificate with SHA-1 hash.
func inRegistryStore(t *testing.T, s StoreCert, hash []byte) bool {
	t.Helper()
	h, err := s.openStore(windows.CERT_STORE_PROV_SYSTEM_REGISTRY, windows.CERT_STORE_READONLY_FLAG)
	if err != nil {
		t.Fatalf("open %s: %v", s.location(), err)
	}
	defer windows.CertCloseStore(h, 0)
	blob := windows.CryptDataBlob{Size: uint32(len(hash)), Data: &hash[0]}
	ctx, err := windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
		windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
	if err != nil {
		return false
	}
	windows.CertFreeCertificateContext(ctx)
	return true
}
