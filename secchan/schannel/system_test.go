//go:build windows

package schannel

import (
	"context"
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

// exclusiveEngine returns a chain engine whose only trusted root is root:
// system trust without touching the machine's stores.
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
	var engine windows.Handle
	r, _, e := procs.certCreateChainEngine.Call(uintptr(unsafe.Pointer(&cfg)), uintptr(unsafe.Pointer(&engine)))
	if r == 0 && wineExcused() {
		// Wine 8.0 has no hExclusiveRoot, checks hRestrictedRoot against
		// the system roots, and takes its roots from the host only. (On the
		// native Windows job this is a failure, below.)
		windows.CertCloseStore(store, 0)
		return 0
	}
	if r == 0 {
		t.Fatalf("CertCreateCertificateChainEngine: %v", e)
	}
	t.Cleanup(func() {
		procs.certFreeChainEngine.Call(uintptr(engine))
		windows.CertCloseStore(store, 0)
	})
	return engine
}

// TestSystemTrust checks the crypt32 path (no --ca): the good chain is
// verified, every broken chain of the conformance fixtures is refused with
// its kind. Each case trusts only its own scenario's root (an exclusive
// chain engine); under Wine no root can be given (see exclusiveEngine), so
// every broken chain is also untrusted there, and the good chain is skipped.
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
	cases := []tc{{name: "good", chain: good}}
	for _, b := range f.Broken {
		cases = append(cases, tc{name: b.Name, chain: b, want: b.Kind})
	}
	for _, b := range f.Warned {
		cases = append(cases, tc{name: b.Name, chain: b})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Provider{chainEngine: exclusiveEngine(t, c.chain.RootCerts[0])}
			wineNoRoot := p.chainEngine == 0 // under Wine: the test root cannot be trusted
			if c.want == "" && wineNoRoot {
				t.Skip("Wine 8.0: a chain engine cannot be given the test root (no hExclusiveRoot; roots come from the host only)")
			}
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
