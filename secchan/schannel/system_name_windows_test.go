//go:build windows

package schannel

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
	"github.com/tlsmail/tlsmail/trust"
)

// These tests run real handshakes into crypt32 with a trusted test root:
// only the verdict's inputs differ from a user's connection.

// systemRoot makes root trusted for system trust during the test and
// returns a chain engine that trusts it. On Windows that engine's only root
// is root (hExclusiveRoot): the machine's stores are left alone (adding to
// CurrentUser\Root would ask the user). Wine's engines cannot be given
// roots (it refuses the cbSize with the exclusive fields), but an engine it
// makes reads CurrentUser\Root: root goes there (in the test's Wine prefix)
// until the test ends, and the engine is made after that.
//
// free says whether the engine is freed when the test ends; not when the
// test abandons a chain build (a cancelled handshake leaves
// CertGetCertificateChain running on its goroutine, using the engine).
func systemRoot(t *testing.T, root *x509.Certificate, free bool) windows.Handle {
	t.Helper()
	cfg := certChainEngineConfig{}
	cfg.cbSize = uint32(unsafe.Sizeof(cfg))
	if underWine() {
		name, _ := windows.UTF16PtrFromString("Root")
		h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
		if err != nil {
			t.Fatalf("open CurrentUser\\Root: %v", err)
		}
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &root.Raw[0], uint32(len(root.Raw)))
		if err != nil {
			t.Fatal(err)
		}
		err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
		windows.CertFreeCertificateContext(ctx)
		windows.CertCloseStore(h, 0) // Wine writes the store out on close
		if err != nil {
			t.Fatalf("add the test root to CurrentUser\\Root: %v", err)
		}
		sum := sha1.Sum(root.Raw)
		t.Cleanup(func() {
			if err := RemoveFromStore(StoreCert{Store: "Root", Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:]))}); err != nil {
				t.Errorf("remove the test root from CurrentUser\\Root: %v", err)
			}
		})
		cfg.cbSize = uint32(unsafe.Offsetof(cfg.hExclusiveRoot))
	} else {
		store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_MEMORY, 0, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &root.Raw[0], uint32(len(root.Raw)))
		if err != nil {
			t.Fatal(err)
		}
		err = windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_ALWAYS, nil)
		windows.CertFreeCertificateContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cfg.hExclusiveRoot = store
		if free {
			t.Cleanup(func() { windows.CertCloseStore(store, 0) })
		}
	}
	var engine windows.Handle
	if r, _, e := procs.certCreateChainEngine.Call(uintptr(unsafe.Pointer(&cfg)), uintptr(unsafe.Pointer(&engine))); r == 0 {
		t.Fatalf("CertCreateCertificateChainEngine: %v", e)
	}
	if free {
		t.Cleanup(func() { procs.certFreeChainEngine.Call(uintptr(engine)) })
	}
	return engine
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// offlinePKI makes root → intermediate → leaf for mail.example.com whose
// CRL and OCSP URLs (on the intermediate and the leaf) point at addr.
func offlinePKI(t *testing.T, addr string) (*testpki.Authority, *testpki.Leaf) {
	t.Helper()
	urls := testpki.Options{CRLDistributionPoints: []string{"http://" + addr + "/ca.crl"}, OCSPServer: []string{"http://" + addr + "/ocsp"}}
	root, err := testpki.NewRoot(testpki.Options{CommonName: uniqueCA("Root", t)})
	if err != nil {
		t.Fatal(err)
	}
	io := urls
	io.CommonName = uniqueCA("Intermediate", t)
	inter, err := root.NewIntermediate(io)
	if err != nil {
		t.Fatal(err)
	}
	lo := urls
	lo.DNSNames = []string{"mail.example.com"}
	leaf, err := inter.Issue(lo)
	if err != nil {
		t.Fatal(err)
	}
	return root, leaf
}

// serveChain serves one TLS handshake with leaf's chain.
func serveChain(t *testing.T, leaf *testpki.Leaf) *secchantest.Server {
	cert := leaf.TLSCertificate()
	return secchantest.Serve(t, func(raw net.Conn) error {
		tc := tls.Server(raw, secchantest.ServerConfig(cert))
		if err := tc.Handshake(); err != nil {
			return nil // refused by the client
		}
		tc.Write([]byte("220 ok\r\n"))
		tc.Read(make([]byte, 1))
		return nil
	})
}

// TestSystemWrongNameRevocationOffline is issue 10's attack over a real
// handshake: a certificate for mail.example.com, presented for
// bank.example.org, chained to a trusted root (systemRoot), whose CRL and
// OCSP URLs point at a closed loopback port (revocation offline: a warning
// in soft mode). The SSL policy stops at the offline revocation and never
// compares the name; system trust must still refuse the chain as
// name-mismatch, in soft and in strict mode.
func TestSystemWrongNameRevocationOffline(t *testing.T) {
	root, leaf := offlinePKI(t, closedPort(t))
	for _, mode := range []trust.RevocationMode{trust.RevocationSoft, trust.RevocationStrict} {
		t.Run(string(mode), func(t *testing.T) {
			p := Provider{chainEngine: systemRoot(t, root.Cert, true)}
			srv := serveChain(t, leaf)
			cfg := &secchan.Config{ServerName: "bank.example.org", Logf: t.Logf}
			cfg.Trust.Revocation = mode
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
			srv.Wait()
			if err == nil {
				conn.Close()
				t.Fatal("a certificate for mail.example.com was accepted for bank.example.org")
			}
			var te *trust.Error
			if !errors.As(err, &te) {
				t.Fatalf("error = %v; want a *trust.Error", err)
			}
			for _, pr := range te.Report.Problems {
				t.Logf("problem: %s", pr)
			}
			if !te.Report.Has(trust.KindNameMismatch) {
				t.Errorf("refused without name-mismatch: %v", te.Report.Problems)
			}
			if te.Report.Has(trust.KindUntrustedRoot) {
				t.Errorf("the test root is trusted, yet untrusted-root: %v", te.Report.Problems)
			}
			for _, pr := range te.Report.Problems {
				if pr.Kind == trust.KindRevocationUnknown && (pr.Severity == trust.SeverityError) != (mode == trust.RevocationStrict) {
					t.Errorf("revocation-unknown is %s in %s mode", pr.Severity, mode)
				}
			}
		})
	}
}

// TestSystemTrailingDot: "mail.example.com." is the absolute form of
// mail.example.com and is accepted for a certificate for mail.example.com;
// the dot must not reach Windows' SSL policy, which compares the name as
// given and refuses it (CERT_E_CN_NO_MATCH).
func TestSystemTrailingDot(t *testing.T) {
	root, leaf := offlinePKI(t, closedPort(t))
	p := Provider{chainEngine: systemRoot(t, root.Cert, true)}
	srv := serveChain(t, leaf)
	cfg := &secchan.Config{ServerName: "mail.example.com.", Logf: t.Logf}
	cfg.Trust.Revocation = trust.RevocationOff
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
	if err != nil {
		srv.Wait()
		t.Fatalf("refused: %v", err)
	}
	st := conn.State()
	conn.Close()
	srv.Wait()
	if !st.Verified || st.Report.Has(trust.KindNameMismatch) {
		t.Errorf("verified %v, problems %v", st.Verified, st.Report.Problems)
	}
}

// uniqueCA is a CA's common name of its own for the test: these tests put
// their roots in CurrentUser\Root under Wine, and Wine's crypt32 finds an
// issuer by name, so a CA of another test with the same name (still in a
// store, or in a cache of the process) could be taken for this one and
// the chain fail with a signature that does not verify (trust status
// 0x8), as TestSystemIPAddress did now and then in a whole-package run.
func uniqueCA(kind string, t *testing.T) string {
	return fmt.Sprintf("tlsmail Test %s CA %s %d", kind, t.Name(), time.Now().UnixNano())
}

// TestSystemIPAddress: with system trust an IP address is checked against
// the certificate's IP SANs (by the Go check; Wine's SSL policy refuses
// every IP address).
func TestSystemIPAddress(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{CommonName: uniqueCA("Root", t)})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{CommonName: uniqueCA("Intermediate", t)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(testpki.Options{DNSNames: testpki.LoopbackNames, IPAddresses: testpki.LoopbackIPs()}) // localhost, 127.0.0.1, ::1
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{{"127.0.0.1", true}, {"[::1]", true}, {"127.0.0.2", false}} {
		t.Run(c.name, func(t *testing.T) {
			p := Provider{chainEngine: systemRoot(t, root.Cert, true)}
			srv := serveChain(t, leaf)
			cfg := &secchan.Config{ServerName: c.name, Logf: t.Logf}
			cfg.Trust.Revocation = trust.RevocationOff
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
			if conn != nil {
				conn.Close()
			}
			srv.Wait()
			var te *trust.Error
			switch {
			case c.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !c.ok && !errors.As(err, &te):
				t.Errorf("error = %v, want a *trust.Error", err)
			case !c.ok && (!te.Report.Has(trust.KindNameMismatch) || te.Report.Has(trust.KindUntrustedRoot)):
				t.Errorf("refused with %v, want name-mismatch only", te.Report.Problems)
			}
		})
	}
}

// TestSystemRevocationStalled: a CRL and OCSP server that accepts and never
// answers must not hold the handshake beyond its deadline. Chain building
// gets the revocation share of what is left of the deadline
// (secchan.RevocationBudget: half) as its fetch budget for all URLs
// together: on Windows the fetches give up within it and the chain is
// accepted with a revocation-unknown warning (soft mode). Wine
// does not honour the budget; there the context ends the wait, and the
// handshake fails as timed out instead of hanging.
func TestSystemRevocationStalled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; c.Close() }()
		}
	}()
	root, leaf := offlinePKI(t, ln.Addr().String())
	p := Provider{chainEngine: systemRoot(t, root.Cert, false)}
	srv := serveChain(t, leaf)
	cfg := &secchan.Config{ServerName: "mail.example.com", Logf: t.Logf}
	const deadline = 6 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
	took := time.Since(start)
	var st secchan.State
	if conn != nil {
		st = conn.State()
		conn.Close()
	}
	srv.Wait()
	t.Logf("handshake returned after %v: %v", took, err)
	// A generous bound: the deadline plus Wine's or Windows' own slack, far
	// below the 15 seconds per URL Windows waits by default.
	if took > deadline+10*time.Second {
		t.Errorf("the handshake took %v with a %v deadline", took, deadline)
	}
	var he *secchan.HandshakeError
	switch {
	case err == nil:
		if !st.Report.Has(trust.KindRevocationUnknown) {
			t.Errorf("accepted without a revocation-unknown warning: %v", st.Report.Problems)
		}
	case !underWine():
		t.Errorf("refused (%v); want the chain accepted with a revocation-unknown warning once the fetch budget is spent", err)
	case errors.As(err, &he):
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("handshake error %v does not wrap the deadline", err)
		}
	default:
		t.Errorf("error = %v, want a timeout or the chain accepted with a warning", err)
	}
}

// TestSystemCancelled: a cancelled context ends the handshake even while
// crypt32 waits for a revocation server.
func TestSystemCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hit := make(chan struct{}, 8)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case hit <- struct{}{}:
			default:
			}
			go func() { <-stop; c.Close() }()
		}
	}()
	root, leaf := offlinePKI(t, ln.Addr().String())
	p := Provider{chainEngine: systemRoot(t, root.Cert, false)}
	srv := serveChain(t, leaf)
	cfg := &secchan.Config{ServerName: "mail.example.com", Logf: t.Logf}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		select {
		case <-hit: // crypt32 is fetching
		case <-time.After(20 * time.Second):
		}
		cancel()
	}()
	start := time.Now()
	conn, err := secchantest.Dial(ctx, p, srv.Addr, cfg)
	took := time.Since(start)
	if conn != nil {
		conn.Close()
	}
	srv.Wait()
	t.Logf("handshake returned after %v: %v", took, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want one wrapping context.Canceled", err)
	}
	if took > 40*time.Second {
		t.Errorf("the handshake took %v after being cancelled", took)
	}
}
