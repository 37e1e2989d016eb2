//go:build windows

package schannel

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
	"github.com/tlsmail/tlsmail/trust"
)

// certChainEngineConfig is CERT_CHAIN_ENGINE_CONFIG with hExclusiveRoot
// (Windows 7 and later).
type certChainEngineConfig struct {
	cbSize                    uint32
	hRestrictedRoot           windows.Handle
	hRestrictedTrust          windows.Handle
	hRestrictedOther          windows.Handle
	cAdditionalStore          uint32
	rghAdditionalStore        *windows.Handle
	dwFlags                   uint32
	dwURLRetrievalTimeout     uint32
	maximumCachedCertificates uint32
	cycleDetectionModulus     uint32
	hExclusiveRoot            windows.Handle
	hExclusiveTrustedPeople   windows.Handle
	dwExclusiveFlags          uint32
}

// exclusiveEngine returns a chain engine whose only trusted root is root.
// On Windows that is hExclusiveRoot, which leaves the machine's stores
// alone. Wine 8.0 knows only the older, shorter CERT_CHAIN_ENGINE_CONFIG
// (no hExclusiveRoot: it refuses the longer size) and takes an
// hRestrictedRoot only of roots the system trusts already: under Wine the
// root goes into the prefix's CurrentUser\Root store for the test
// (trustRootInWineStore), and the engine is restricted to it.
func exclusiveEngine(t *testing.T, root *x509.Certificate) windows.Handle {
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_MEMORY, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &root.Raw[0], uint32(len(root.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_ALWAYS, nil); err != nil {
		t.Fatal(err)
	}
	windows.CertFreeCertificateContext(ctx)
	cfg := certChainEngineConfig{hExclusiveRoot: store}
	cfg.cbSize = uint32(unsafe.Sizeof(cfg))
	if wineExcused() {
		trustRootInWineStore(t, root)
		cfg = certChainEngineConfig{hRestrictedRoot: store}
		cfg.cbSize = uint32(unsafe.Offsetof(cfg.hExclusiveRoot))
	}
	var engine windows.Handle
	r, _, e := procs.certCreateChainEngine.Call(uintptr(unsafe.Pointer(&cfg)), uintptr(unsafe.Pointer(&engine)))
	if r == 0 {
		windows.CertCloseStore(store, 0)
		t.Fatalf("CertCreateCertificateChainEngine: %v", e)
	}
	// Registered after trustRootInWineStore's cleanup, so run before it:
	// the engine goes, then the root leaves the store.
	t.Cleanup(func() {
		procs.certFreeChainEngine.Call(uintptr(engine))
		windows.CertCloseStore(store, 0)
	})
	return engine
}

// trustRootInWineStore adds root to the current user's Root store (the
// registry store, which Wine's default chain engine reads) until t ends,
// and checks at the end that it is gone again, so that the Wine prefix
// keeps no test root. Only under Wine: on Windows adding to that store asks
// the user in a dialog, and the native job has hExclusiveRoot instead.
func trustRootInWineStore(t *testing.T, root *x509.Certificate) {
	t.Helper()
	if !underWine() {
		t.Fatal("trustRootInWineStore is for Wine only: Windows asks the user before adding a root")
	}
	open := func() windows.Handle {
		name, _ := windows.UTF16PtrFromString("Root")
		h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_REGISTRY, 0, 0,
			windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
		if err != nil {
			t.Fatalf("opening CurrentUser\\Root: %v", err)
		}
		return h
	}
	sum := sha1.Sum(root.Raw)
	find := func(h windows.Handle) *windows.CertContext {
		blob := windows.CryptDataBlob{Size: uint32(len(sum)), Data: &sum[0]}
		c, _ := windows.CertFindCertificateInStore(h, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
			windows.CERT_FIND_HASH, unsafe.Pointer(&blob), nil)
		return c
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &root.Raw[0], uint32(len(root.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	h := open()
	err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
	windows.CertFreeCertificateContext(ctx)
	windows.CertCloseStore(h, 0) // Wine writes the registry store when it is closed
	if err != nil {
		t.Fatalf("adding the test root to CurrentUser\\Root: %v", err)
	}
	t.Cleanup(func() {
		h := open()
		if c := find(h); c != nil {
			if err := windows.CertDeleteCertificateFromStore(c); err != nil { // frees c
				t.Errorf("removing the test root from CurrentUser\\Root: %v", err)
			}
		}
		windows.CertCloseStore(h, 0)
		h = open()
		defer windows.CertCloseStore(h, 0)
		if c := find(h); c != nil {
			windows.CertFreeCertificateContext(c)
			t.Errorf("the test root is still in CurrentUser\\Root of the Wine prefix")
		}
	})
}

// TestSystemTrust checks the crypt32 path (no --ca): the good chain is
// verified up to its root, the expiring-soon chain with its warning, and
// every broken chain of the conformance fixtures is refused with its kind.
// Each case trusts only its own scenario's root, through a chain engine
// restricted to it (see exclusiveEngine: under Wine the root is also in the
// prefix's CurrentUser\Root store for the subtest, and removed after).
func TestSystemTrust(t *testing.T) {
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name  string
		chain secchantest.BrokenChain
		want  trust.Kind // "" for a good chain
	}
	good := secchantest.BrokenChain{Name: "good", Cert: f.PKI.Server.TLSCertificate(), ServerName: secchantest.ServerName,
		RootCerts: []*x509.Certificate{f.PKI.Root.Cert}}
	goodIP := good
	goodIP.Name, goodIP.ServerName = "good-ip", "127.0.0.1" // the leaf lists 127.0.0.1 as an IP SAN
	cases := []tc{{name: "good", chain: good}, {name: "good-ip", chain: goodIP}}
	for _, b := range f.Broken {
		cases = append(cases, tc{name: b.Name, chain: b, want: b.Kind})
	}
	for _, b := range f.Warned {
		cases = append(cases, tc{name: b.Name, chain: b})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "good-ip" {
				skipUnderWine(t, "Wine's SSL policy matches only DNS names, not an IP address against the certificate's IP SANs (CERT_E_CN_NO_MATCH)")
			}
			p := Provider{chainEngine: exclusiveEngine(t, c.chain.RootCerts[0])}
			srv := secchantest.Serve(t, func(raw net.Conn) error {
				tc := tls.Server(raw, secchantest.ServerConfig(c.chain.Cert))
				if err := tc.Handshake(); err != nil {
					return nil // refused by the client: the client side is checked below
				}
				tc.Write([]byte("220 ok\r\n"))
				tc.Read(make([]byte, 1))
				return nil
			})
			cfg := c.chain.Config()
			cfg.Trust.Roots = nil // system trust: crypt32 decides
			cfg.Logf = t.Logf
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
			if c.want == "" {
				if err != nil {
					t.Fatalf("good chain refused: %v", err)
				}
				st := conn.State()
				if !st.Verified || len(st.Report.Path) != 3 {
					t.Errorf("Verified %v, path of %d certificates; want verified up to the root", st.Verified, len(st.Report.Path))
				}
				if c.chain.Kind != "" && !st.Report.Has(c.chain.Kind) {
					t.Errorf("accepted without the %s warning: %v", c.chain.Kind, st.Report.Problems)
				}
				conn.Close()
				srv.Wait()
				return
			}
			srv.Wait()
			var te *trust.Error
			if !errors.As(err, &te) {
				t.Fatalf("error = %v; want a *trust.Error", err)
			}
			for _, p := range te.Report.Problems {
				t.Logf("problem: %s", p)
			}
			if !te.Report.Has(c.want) {
				t.Errorf("refused with %v, want %s", te.Report.Problems, c.want)
			}
		})
	}
}
