//go:build windows

package schannel

import (
	"crypto/x509"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// TestCertChainParaLayout: CERT_CHAIN_PARA as golang.org/x/sys/windows
// declares it puts dwUrlRetrievalTimeout where wincrypt.h has it (after
// cbSize and two CERT_USAGE_MATCH), so that the revocation timeout reaches
// Windows.
func TestCertChainParaLayout(t *testing.T) {
	ptr := unsafe.Sizeof(uintptr(0))
	// CERT_USAGE_MATCH: DWORD dwType; CTL_USAGE { DWORD cUsageIdentifier;
	// LPSTR *rgpszUsageIdentifier; }, pointer-aligned.
	usageMatch := 2 * ptr
	if ptr == 8 {
		usageMatch = 24
	}
	var p windows.CertChainPara
	if got, want := unsafe.Offsetof(p.RequestedUsage), ptr; got != want {
		t.Errorf("RequestedUsage at %d, want %d", got, want)
	}
	if got, want := unsafe.Sizeof(p.RequestedUsage), usageMatch; got != want {
		t.Errorf("CERT_USAGE_MATCH is %d bytes, want %d", got, want)
	}
	if got, want := unsafe.Offsetof(p.URLRetrievalTimeout), ptr+2*usageMatch; got != want {
		t.Errorf("dwUrlRetrievalTimeout at %d, want %d", got, want)
	}
	if unsafe.Sizeof(p) < unsafe.Offsetof(p.URLRetrievalTimeout)+4 {
		t.Errorf("CERT_CHAIN_PARA of %d bytes ends before dwUrlRetrievalTimeout", unsafe.Sizeof(p))
	}
}

// leafContext puts chain (leaf first) into a memory store and returns the
// leaf's context in it, as Schannel hands over the server's certificates.
func leafContext(t *testing.T, chain []*x509.Certificate) *windows.CertContext {
	t.Helper()
	store, err := windows.CertOpenStore(windows.CERT_STORE_PROV_MEMORY, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.CertCloseStore(store, 0) })
	var leaf *windows.CertContext
	for i, c := range chain {
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &c.Raw[0], uint32(len(c.Raw)))
		if err != nil {
			t.Fatal(err)
		}
		var added *windows.CertContext
		err = windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_ALWAYS, &added)
		windows.CertFreeCertificateContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			leaf = added
		} else {
			windows.CertFreeCertificateContext(added)
		}
	}
	return leaf
}

// TestSystemNameChecked runs crypt32 on a chain whose root this computer
// does not trust, for a name the certificate does not carry. The full SSL
// policy stops at the untrusted root (its first error) and never compares
// the name; the name-only call does, and so does the decision: the report
// has both problems. And the name the policy gets has no trailing dot: with
// it, Windows' policy would refuse "mail.example.com." for a certificate
// for mail.example.com.
func TestSystemNameChecked(t *testing.T) {
	p, err := testpki.NewPKI([]string{"mail.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain := p.Server.Chain
	build := func(name string) systemResult {
		rc := leafContext(t, chain)
		defer windows.CertFreeCertificateContext(rc)
		return buildSystem(0, rc, chain, trust.Options{Name: name, Revocation: trust.RevocationOff}, 1000)
	}

	res := build("bank.example.org")
	t.Logf("full policy 0x%08X (%v), name-only policy 0x%08X (%v)", res.Policy.Status, res.Policy.Err, res.NamePolicy.Status, res.NamePolicy.Err)
	if res.Policy.Err != nil || res.Policy.Status == 0 {
		t.Fatalf("the full SSL policy accepted a chain from an unknown root: %+v", res.Policy)
	}
	if res.NamePolicy.Err != nil || res.NamePolicy.Status != certECNNoMatch {
		t.Errorf("name-only policy = 0x%08X (%v), want CERT_E_CN_NO_MATCH", res.NamePolicy.Status, res.NamePolicy.Err)
	}
	r := decideSystem(res, chain, trust.Options{Name: "bank.example.org", Revocation: trust.RevocationOff})
	for _, pr := range r.Problems {
		t.Logf("problem: %s", pr)
	}
	if !r.Has(trust.KindNameMismatch) || !r.Has(trust.KindUntrustedRoot) {
		t.Errorf("want both name-mismatch and untrusted-root, got %v", r.Problems)
	}

	for _, name := range []string{"mail.example.com", "mail.example.com."} {
		res := build(name)
		if res.NamePolicy.Err != nil || res.NamePolicy.Status != 0 {
			t.Errorf("%q: name-only policy = 0x%08X (%v), want 0", name, res.NamePolicy.Status, res.NamePolicy.Err)
		}
		if r := decideSystem(res, chain, trust.Options{Name: name, Revocation: trust.RevocationOff}); r.Has(trust.KindNameMismatch) {
			t.Errorf("%q: refused as name-mismatch: %v", name, r.Problems)
		}
	}

	// What the policy says when the dot does reach it.
	rc := leafContext(t, chain)
	defer windows.CertFreeCertificateContext(rc)
	var cc *windows.CertChainContext
	para := windows.CertChainPara{Size: uint32(unsafe.Sizeof(windows.CertChainPara{}))}
	if err := windows.CertGetCertificateChain(0, rc, nil, rc.Store, &para, 0, 0, &cc); err != nil {
		t.Fatal(err)
	}
	defer windows.CertFreeCertificateChain(cc)
	dotted := sslPolicy(cc, "mail.example.com.", nameOnlyChecks, nameOnlyPolicyFlags)
	t.Logf("name-only policy with the trailing dot: 0x%08X (%v)", dotted.Status, dotted.Err)
}
