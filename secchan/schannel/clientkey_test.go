//go:build windows

package schannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// msEnhancedRSA is the provider Wine's PFXImportCertStore puts keys in.
const msEnhancedRSA = "Microsoft Enhanced Cryptographic Provider v1.0"

// allContainers returns this user's key containers (every CryptoAPI RSA
// provider lists the same set; both are asked in case one does not).
func allContainers(t *testing.T) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, p := range []keyContainerProvider{rsaAESProvider, {name: msEnhancedRSA, typ: windows.PROV_RSA_FULL}} {
		names, err := listContainers(p)
		if err != nil {
			t.Fatalf("listing key containers: %v", err)
		}
		for _, n := range names {
			set[n] = true
		}
	}
	return set
}

// newContainers returns the containers that are not in before, except the
// connection containers of other processes (tlsmail tests of other packages
// may run at the same time).
func newContainers(t *testing.T, before map[string]bool) []string {
	t.Helper()
	var added []string
	for n := range allContainers(t) {
		if pid, ok := containerPID(n); before[n] || ok && pid != uint32(os.Getpid()) {
			continue
		}
		added = append(added, n)
	}
	return added
}

// rsaClientCert issues an RSA clientAuth certificate from issuer with a
// subject of its own.
func rsaClientCert(t *testing.T, issuer *testpki.Authority) *testpki.Leaf {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := issuer.Issue(testpki.Options{CommonName: "tlsmail key test " + rand.Text()[:12], Key: key,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// exportable reports whether the exchange key in container can be read out
// (CryptExportKey of a PRIVATEKEYBLOB).
func exportable(container string) (bool, error) {
	name, _ := windows.UTF16PtrFromString(container)
	provName, _ := windows.UTF16PtrFromString(msEnhRSAAESProv)
	var prov windows.Handle
	if err := windows.CryptAcquireContext(&prov, name, provName, windows.PROV_RSA_AES, windows.CRYPT_SILENT); err != nil {
		return false, err
	}
	defer windows.CryptReleaseContext(prov, 0)
	var hkey uintptr
	if r, _, e := procs.cryptGetUserKey.Call(uintptr(prov), windows.AT_KEYEXCHANGE, uintptr(unsafe.Pointer(&hkey))); r == 0 {
		return false, fmt.Errorf("CryptGetUserKey: %w", e)
	}
	defer procs.cryptDestroyKey.Call(hkey)
	var size uint32
	r, _, _ := procs.cryptExportKey.Call(hkey, 0, privateKeyBlob, 0, 0, uintptr(unsafe.Pointer(&size)))
	return r != 0, nil
}

// TestClientKeyNotLeft connects with a client certificate given as a
// certificate and key, as --cert/--key do, and checks what happens to the
// private key: where Schannel needs it in a key container (under Wine; with
// TLS 1.3 on Windows) the container is tlsmail's, named for this process,
// and not exportable while the connection is open; where it does not, no
// container is made at all; and after Close, after a handshake the server
// refuses and after a server that hangs up, no key container is left.
func TestClientKeyNotLeft(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	leaf := rsaClientCert(t, f.ClientRoot)
	plan, why := planClientKey(underWine(), windowsVersion())
	t.Logf("client key placement on this system: %v (%s)", plan, why)
	dial := func(t *testing.T, srv *secchantest.Server) (secchan.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg := f.ClientConfig()
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
		return secchantest.Dial(ctx, Provider{}, srv.Addr, cfg)
	}

	t.Run("connection", func(t *testing.T) {
		before := allContainers(t)
		scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
		scfg.ClientAuth = tls.RequireAndVerifyClientCert
		scfg.ClientCAs = f.ClientRoot.Pool()
		release := make(chan struct{})
		srv := secchantest.Serve(t, func(raw net.Conn) error {
			c := tls.Server(raw, scfg)
			if err := c.Handshake(); err != nil {
				return err
			}
			if p := c.ConnectionState().PeerCertificates; len(p) == 0 || !p[0].Equal(leaf.Cert) {
				return errors.New("the client did not present its certificate")
			}
			<-release
			return nil
		})
		conn, err := dial(t, srv)
		close(release)
		if err != nil {
			t.Fatalf("handshake: %v (server: %v)", err, srv.Wait())
		}
		during := newContainers(t, before)
		var ours []string
		for _, n := range during {
			if strings.HasPrefix(n, "tlsmail-") {
				ours = append(ours, n)
			}
		}
		switch plan {
		case keyInMemory:
			if len(during) != 0 {
				t.Errorf("with the key in memory, the connection made key containers %q", during)
			}
		case keyInContainer:
			for _, n := range ours {
				if exp, err := exportable(n); err != nil || exp {
					t.Errorf("the client key in %s is exportable: %v (%v)", n, exp, err)
				}
			}
			if len(ours) != 1 || !strings.HasPrefix(ours[0], fmt.Sprintf("%s%d-", connContainerPrefix, os.Getpid())) {
				t.Errorf("during the connection the new key containers are %q, want one %s%d-* (so that a later tlsmail can delete it should this process crash)", during, connContainerPrefix, os.Getpid())
			}
		}
		conn.Close()
		if err := srv.Wait(); err != nil {
			t.Errorf("server: %v", err)
		}
		if left := newContainers(t, before); len(left) != 0 {
			t.Errorf("after Close these key containers are left: %q", left)
		}
	})

	t.Run("refused by the server", func(t *testing.T) {
		before := allContainers(t)
		other, err := testpki.NewRoot(testpki.Options{CommonName: "tlsmail other client CA"})
		if err != nil {
			t.Fatal(err)
		}
		scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
		scfg.ClientAuth = tls.RequireAndVerifyClientCert
		scfg.ClientCAs = other.Pool()
		srv := secchantest.Serve(t, func(raw net.Conn) error {
			tls.Server(raw, scfg).Handshake()
			return nil
		})
		conn, err := dial(t, srv)
		if err == nil {
			// TLS 1.3: the server's verdict on the client certificate
			// arrives after the client's handshake; read it.
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Fatal("a server that refuses the client certificate was not noticed")
		}
		srv.Wait()
		if left := newContainers(t, before); len(left) != 0 {
			t.Errorf("after a refused handshake (%v) these key containers are left: %q", err, left)
		}
	})

	t.Run("server hangs up", func(t *testing.T) {
		before := allContainers(t)
		srv := secchantest.Serve(t, func(raw net.Conn) error { return raw.Close() })
		if _, err := dial(t, srv); err == nil {
			t.Fatal("a handshake with a server that hung up succeeded")
		}
		srv.Wait()
		if left := newContainers(t, before); len(left) != 0 {
			t.Errorf("after a failed handshake these key containers are left: %q", left)
		}
	})
}

// TestClientKeyInMemory: the in-memory placement (PKCS12_NO_PERSIST_KEY)
// gives a certificate context with a usable private key and leaves no key
// container after free. Under Wine, whose PFXImportCertStore persists the
// key all the same, the container it made is found and deleted.
func TestClientKeyInMemory(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	leaf := rsaClientCert(t, f.ClientRoot)
	before := allContainers(t)
	cc, err := certFromTLSAs(leaf.TLSCertificate(), keyInMemory)
	if err != nil {
		t.Fatal(err)
	}
	var prov windows.Handle
	var spec uint32
	var mustFree bool
	if err := windows.CryptAcquireCertificatePrivateKey(cc.ctx, windows.CRYPT_ACQUIRE_SILENT_FLAG|windows.CRYPT_ACQUIRE_CACHE_FLAG|windows.CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG,
		nil, &prov, &spec, &mustFree); err != nil {
		t.Errorf("the imported certificate has no usable private key: %v", err)
	} else if mustFree {
		if spec == windows.CERT_NCRYPT_KEY_SPEC {
			windows.NewLazySystemDLL("ncrypt.dll").NewProc("NCryptFreeObject").Call(uintptr(prov))
		} else {
			windows.CryptReleaseContext(prov, 0)
		}
	}
	during := newContainers(t, before)
	if !underWine() && len(during) != 0 {
		t.Errorf("the in-memory import made key containers %q", during)
	}
	t.Logf("key containers during the in-memory import: %q", during)
	cc.free()
	if left := newContainers(t, before); len(left) != 0 {
		t.Errorf("after free these key containers are left: %q", left)
	}
}

// TestClientKeyCrashSweep: a tlsmail process that dies with a connection
// open leaves its key container behind (nothing runs at a crash); the next
// client key put in a container deletes it, and leaves the containers of
// processes still running alone.
func TestClientKeyCrashSweep(t *testing.T) {
	if os.Getenv("TLSMAIL_CRASH_CHILD") == "1" {
		// The child: a client key in a container, then a crash.
		f, err := secchantest.NewFixtures()
		if err != nil {
			os.Exit(2)
		}
		if _, err := certFromTLSAs(f.ClientLeaf.TLSCertificate(), keyInContainer); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(3)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := allContainers(t)
	cmd := exec.Command(exe, "-test.run=^TestClientKeyCrashSweep$")
	cmd.Env = append(os.Environ(), "TLSMAIL_CRASH_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the child: %v\n%s", err, out)
	}
	child := fmt.Sprintf("%s%d-", connContainerPrefix, cmd.Process.Pid)
	var left string
	for n := range allContainers(t) {
		if strings.HasPrefix(n, child) && !before[n] {
			left = n
		}
	}
	if left == "" {
		t.Fatalf("the crashed child left no %s* container; the test cannot see a crash", child)
	}

	// A container of this (running) process must survive the sweep.
	mine, delMine, err := persistRSAKey(rsaClientCert(t, f0(t)).Key.(*rsa.PrivateKey), newConnContainerName())
	if err != nil {
		t.Fatal(err)
	}
	defer delMine()

	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := certFromTLSAs(f.ClientLeaf.TLSCertificate(), keyInContainer)
	if err != nil {
		t.Fatal(err)
	}
	cc.free()
	now := allContainers(t)
	if now[left] {
		t.Errorf("the crashed process's key container %s is still there", left)
	}
	if name := windows.UTF16PtrToString(mine); !now[name] {
		t.Errorf("the sweep deleted %s, the container of a running process", name)
	}
}

// f0 is a client CA for keys that need one.
func f0(t *testing.T) *testpki.Authority {
	t.Helper()
	ca, err := testpki.NewRoot(testpki.Options{CommonName: "tlsmail sweep CA"})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestClientCertIntermediates: a --cert file holding the leaf and its
// intermediate, for a server that trusts only the root. Schannel takes the
// leaf alone and sends the chain it builds from the system stores, so the
// intermediate must be in the user's Intermediate Certification Authorities
// store, and the chain CertGetCertificateChain builds from the leaf with no
// other store must hold it, for both key placements; end to end the server
// must receive and accept the chain. Wine's Schannel sends the leaf alone
// whatever the stores hold (secur32 hands GnuTLS one certificate:
// gnutls_certificate_set_x509_key(creds, &crt, 1, key)), so there the end to
// end part checks that the leaf arrives and is skipped, naming why.
func TestClientCertIntermediates(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{CommonName: "tlsmail chain client root " + rand.Text()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{CommonName: "tlsmail chain client intermediate " + rand.Text()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	interSum := sha1.Sum(inter.Cert.Raw)
	caStore := StoreCert{Store: "CA", Thumbprint: hex.EncodeToString(interSum[:])}
	defer func() {
		if err := RemoveFromStore(caStore); err != nil {
			t.Errorf(`removing the test intermediate from CurrentUser\CA: %v`, err)
		}
	}()
	leaf := rsaClientCert(t, inter)
	tc := leaf.TLSCertificate()
	if len(tc.Certificate) != 2 {
		t.Fatalf("the client chain has %d certificates, want the leaf and the intermediate", len(tc.Certificate))
	}

	for _, plan := range []keyPlan{keyInMemory, keyInContainer} {
		t.Run(fmt.Sprintf("stores, key %v", plan), func(t *testing.T) {
			RemoveFromStore(caStore)
			cc, err := certFromTLSAs(tc, plan)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.free()
			h, err := caStore.systemStore(windows.CERT_STORE_READONLY_FLAG)
			if err != nil {
				t.Fatal(err)
			}
			blob := windows.CryptDataBlob{Size: uint32(len(interSum)), Data: &interSum[0]}
			found, err := windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0, windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
			if err != nil {
				t.Errorf(`the intermediate is not in CurrentUser\CA: %v`, err)
			} else {
				windows.CertFreeCertificateContext(found)
			}
			windows.CertCloseStore(h, 0)

			// The leaf alone, in a store of its own: what Schannel starts
			// from (it does not use the context's store).
			alone, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, cc.ctx.EncodedCert, cc.ctx.Length)
			if err != nil {
				t.Fatal(err)
			}
			defer windows.CertFreeCertificateContext(alone)
			para := windows.CertChainPara{Size: uint32(unsafe.Sizeof(windows.CertChainPara{}))}
			var chain *windows.CertChainContext
			if err := windows.CertGetCertificateChain(userChainEngine(t), alone, nil, 0, &para, 0, 0, &chain); err != nil {
				t.Fatalf("CertGetCertificateChain: %v", err)
			}
			defer windows.CertFreeCertificateChain(chain)
			var got [][]byte
			if chain.ChainCount > 0 {
				simple := unsafe.Slice(chain.Chains, chain.ChainCount)[0]
				for _, e := range unsafe.Slice(simple.Elements, simple.NumElements) {
					got = append(got, unsafe.Slice(e.CertContext.EncodedCert, e.CertContext.Length))
				}
			}
			if len(got) < 2 || !bytes.Equal(got[1], inter.Cert.Raw) {
				t.Errorf("the chain the system builds from the client leaf has %d elements without the intermediate second", len(got))
			}
		})
	}

	t.Run("end to end", func(t *testing.T) {
		f, err := secchantest.NewFixtures()
		if err != nil {
			t.Fatal(err)
		}
		scfg := secchantest.ServerConfig(f.PKI.Server.TLSCertificate())
		scfg.ClientAuth = tls.RequireAnyClientCert
		received := make(chan []*x509.Certificate, 1)
		srv := secchantest.Serve(t, func(raw net.Conn) error {
			c := tls.Server(raw, scfg)
			if err := c.Handshake(); err != nil {
				return err
			}
			received <- c.ConnectionState().PeerCertificates
			return nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg := f.ClientConfig()
		cfg.Certificates = []tls.Certificate{tc}
		conn, err := secchantest.Dial(ctx, Provider{}, srv.Addr, cfg)
		if err != nil {
			t.Fatalf("handshake: %v (server: %v)", err, srv.Wait())
		}
		conn.Close()
		if err := srv.Wait(); err != nil {
			t.Fatalf("server: %v", err)
		}
		chain := <-received
		if len(chain) == 0 || !chain[0].Equal(leaf.Cert) {
			t.Fatalf("the server did not receive the client certificate (%d certificates)", len(chain))
		}
		if underWine() && len(chain) == 1 {
			t.Skip("Wine's Schannel sends the client leaf alone (secur32 gives GnuTLS one certificate); that the system finds the intermediate is checked above")
		}
		inters := x509.NewCertPool()
		for _, c := range chain[1:] {
			inters.AddCert(c)
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("the server cannot verify the client chain it received (%d certificates) with only the root: %v", len(chain), err)
		}
	})
}

// userChainEngine returns a chain engine with the default configuration
// (the current user's stores), made now and freed when the test ends. The
// process's default engine (HCCE_CURRENT_USER) would do on Windows, which
// watches the stores for changes; Wine's reads CurrentUser\CA once, when the
// process first uses it, and then misses an intermediate added later (the
// test failed from its second run in one process, -count=2).
func userChainEngine(t *testing.T) windows.Handle {
	t.Helper()
	cfg := certChainEngineConfig{}
	cfg.cbSize = uint32(unsafe.Sizeof(cfg))
	if underWine() {
		cfg.cbSize = uint32(unsafe.Offsetof(cfg.hExclusiveRoot)) // Wine refuses the larger size
	}
	var engine windows.Handle
	if r, _, e := procs.certCreateChainEngine.Call(uintptr(unsafe.Pointer(&cfg)), uintptr(unsafe.Pointer(&engine))); r == 0 {
		t.Fatalf("CertCreateCertificateChainEngine: %v", e)
	}
	t.Cleanup(func() { procs.certFreeChainEngine.Call(uintptr(engine)) })
	return engine
}

// TestLoadPFXRoundTrip: a PFX made by encodePFX opens with Windows' own
// decoder through LoadPFX (the key and the chain come back), a wrong
// password is a *CertError saying so, and no key container is left (Wine
// persists PFX keys although asked not to; LoadPFX finds and deletes them).
func TestLoadPFXRoundTrip(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{CommonName: "tlsmail pfx root"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{CommonName: "tlsmail pfx intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := rsaClientCert(t, inter)
	before := allContainers(t)
	pfx, err := encodePFX(leaf.Key, leaf.Cert.Raw, [][]byte{inter.Cert.Raw}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := LoadPFX(pfx, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	// The private exponent read back may be another valid one (LoadPFX
	// derives it from the primes): compare the public key and the primes.
	orig := leaf.Key.(*rsa.PrivateKey)
	if k, ok := tc.PrivateKey.(*rsa.PrivateKey); !ok || !k.PublicKey.Equal(&orig.PublicKey) ||
		len(k.Primes) != 2 || k.Primes[0].Cmp(orig.Primes[0])+k.Primes[1].Cmp(orig.Primes[1]) != 0 && k.Primes[0].Cmp(orig.Primes[1])+k.Primes[1].Cmp(orig.Primes[0]) != 0 {
		t.Error("LoadPFX returned another key")
	}
	var names []string
	for _, der := range tc.Certificate {
		if c, err := x509.ParseCertificate(der); err == nil {
			names = append(names, c.Subject.CommonName)
		}
	}
	if len(tc.Certificate) != 2 || !bytes.Equal(tc.Certificate[0], leaf.Cert.Raw) || !bytes.Equal(tc.Certificate[1], inter.Cert.Raw) {
		t.Errorf("LoadPFX returned the certificates %q, want the leaf then the intermediate", names)
	}
	var ce *CertError
	if _, err := LoadPFX(pfx, "wrong"); !errors.As(err, &ce) || !strings.Contains(err.Error(), "password") {
		t.Errorf("wrong password: %v, want a *CertError about the password", err)
	}
	if left := newContainers(t, before); len(left) != 0 {
		t.Errorf("LoadPFX left the key containers %q", left)
	}
}
