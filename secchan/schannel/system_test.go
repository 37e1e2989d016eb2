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

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/secchan/secchantest"
	"github.com/tlsmail/tlsmail/trust"
)

// certChainEngineConfig is CERT_CHAIN_ENGINE_CONFIG with hExclusiveRoot
// (Windows 7 and later; Wine 8.0 takes only the size without the last
// three fields). See systemRoot.
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

// TestSystemTrust checks the crypt32 path (no --ca): the good chain is
// verified, every broken chain of the conformance fixtures is refused with
// its kind. Each case trusts only its own scenario's root (systemRoot: an
// exclusive chain engine on Windows, CurrentUser\Root of the Wine prefix
// under Wine).
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
			p := Provider{chainEngine: systemRoot(t, c.chain.RootCerts[0], true)}
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
