package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// oracle is crypto/x509's verdict on what Verify is given.
func oracle(chain []*x509.Certificate, opts Options) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: opts.Roots, Intermediates: inter, DNSName: opts.Name,
		CurrentTime: opts.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// checkInvariants asserts what holds for every report: the property
// against crypto/x509, errors first, every problem explained.
func checkInvariants(t *testing.T, chain []*x509.Certificate, opts Options, r Report) {
	t.Helper()
	xerr := oracle(chain, opts)
	// "x509 rejects ⇒ the report has an error" and "the report is clean ⇒
	// x509 accepts" are one statement (contrapositives): checked once.
	if xerr != nil && r.OK() {
		t.Errorf("crypto/x509 rejects (%v) but the report has no error: %v", xerr, r.Problems)
	}
	if xerr != nil && r.unexplained {
		t.Errorf("crypto/x509 rejects (%v) and no check explained why; problems: %v", xerr, r.Problems)
	}
	// When crypto/x509 accepts, only the checks it does not make may fail.
	beyondX509 := map[Kind]bool{KindWeakKey: true, KindPinMismatch: true, KindRevoked: true, KindRevocationUnknown: true}
	if xerr == nil {
		for _, p := range r.Errors() {
			if !beyondX509[p.Kind] {
				t.Errorf("crypto/x509 accepts, yet the report has %v", p)
			}
		}
	}
	seenWarning := false
	n := len(r.Certificates())
	for _, p := range r.Problems {
		if p.Severity == SeverityWarning {
			seenWarning = true
		} else if seenWarning {
			t.Errorf("error after a warning: %v", r.Problems)
		}
		if p.Summary == "" || p.Fix == "" || p.Kind == "" {
			t.Errorf("incomplete problem %+v", p)
		}
		if p.Cert < -1 || p.Cert >= n {
			t.Errorf("problem %v: certificate index %d out of range (%d certificates)", p, p.Cert, n)
		}
		if p.Cert >= 0 && p.Subject == "" {
			t.Errorf("problem %v has no subject", p)
		}
	}
	for _, i := range r.PathIndex {
		if i < 0 || i >= n {
			t.Errorf("path index %d out of range", i)
		}
	}
}

func TestEveryBrokenKindIsDetected(t *testing.T) {
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range scenarios {
		kinds[s.Kind] = true
		t.Run(s.Variant, func(t *testing.T) {
			opts := Options{Roots: s.Pool(), Name: s.Name, Pins: s.Pins}
			r := Verify(s.Chain, opts)
			checkInvariants(t, s.Chain, opts, r)
			if !r.Has(Kind(s.Kind)) {
				t.Fatalf("%s: want a %s problem, got %v", s.About, s.Kind, r.Problems)
			}
			wantOK := s.Kind == string(KindExpiringSoon)
			if r.OK() != wantOK {
				t.Errorf("OK() = %v, want %v: %v", r.OK(), wantOK, r.Problems)
			}
			for _, p := range r.Problems {
				t.Logf("%s [%d] %s\n\tfix: %s", p.Kind, p.Cert, p.Summary, p.Fix)
			}
		})
	}
	for _, k := range testpki.BrokenKinds() {
		if !kinds[k] {
			t.Errorf("no scenario for kind %s", k)
		}
	}
}

func TestGoodChain(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1", ""} {
		opts := Options{Roots: s.Pool(), Name: name, Pins: []string{SPKIPin(s.Chain[1])}}
		r := Verify(s.Chain, opts)
		checkInvariants(t, s.Chain, opts, r)
		if len(r.Problems) != 0 || !r.Trusted {
			t.Fatalf("name %q: want a clean trusted report, got %v", name, r.Problems)
		}
		if r.Anchor == nil || !r.Anchor.Equal(s.Roots[0]) {
			t.Errorf("anchor = %v, want the root", r.Anchor)
		}
		if got := r.PathIndex; len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
			t.Errorf("path = %v, want [0 1 2]", got)
		}
		if r.Err() != nil {
			t.Errorf("Err() = %v", r.Err())
		}
	}
}

// TestSummariesCarryValues checks that summaries name the concrete values
// and that the fixes say what to do.
func TestSummariesCarryValues(t *testing.T) {
	tests := []struct {
		variant string
		kind    Kind
		cert    int
		summary []string
		fix     []string
	}{
		{"expired", KindExpired, 0, []string{"expired on", "days ago", "CN=localhost"}, []string{"renew"}},
		{"expired-intermediate", KindExpired, 1, []string{"intermediate", "expired on"}, []string{"intermediate"}},
		{"not-yet-valid", KindNotYetValid, 0, []string{"not valid until", "in 10 days"}, []string{"clock"}},
		{"name-mismatch", KindNameMismatch, 0, []string{`"mail.example.org"`, `"smtp.example.org"`, `not for "localhost"`}, []string{"server name to verify, e.g. mail.example.org,", "subjectAltName"}},
		{"name-mismatch-ip", KindNameMismatch, 0, []string{"127.0.0.1 is an IP address", `"localhost"`}, []string{"server name to verify, e.g. localhost,"}},
		{"self-signed", KindSelfSigned, 0, []string{"self-signed"}, []string{"add its certificate to the trusted roots", "pin its key, sha256/"}},
		{"untrusted-root", KindUntrustedRoot, 1, []string{`"CN=tlsmail Test Root CA"`, "nor among the trusted roots given"}, []string{"add its certificate to the trusted roots"}},
		{"untrusted-root-sent", KindUntrustedRoot, 2, []string{"root CN=tlsmail Test Root CA"}, []string{"add its certificate to the trusted roots"}},
		{"missing-intermediate", KindMissingIntermediate, 0, []string{"sent only its own certificate", "CN=tlsmail Test Intermediate CA"}, []string{"fullchain.pem"}},
		{"weak-signature", KindWeakSignature, 0, []string{"SHA1-RSA"}, []string{"SHA-256"}},
		{"weak-key", KindWeakKey, 0, []string{"1024-bit RSA"}, []string{"2048"}},
		{"weak-key-p224", KindWeakKey, 0, []string{"P-224", "224 bits"}, []string{"P-256"}},
		{"wrong-usage", KindWrongUsage, 0, []string{"clientAuth", "without serverAuth"}, []string{"serverAuth"}},
		{"wrong-usage-intermediate", KindWrongUsage, 1, []string{"emailProtection"}, []string{"intermediate"}},
		{"wrong-usage-ca-keyusage", KindWrongUsage, 1, []string{"lacks keyCertSign"}, []string{"keyCertSign"}},
		{"not-a-ca", KindNotACA, 1, []string{"CN=fake-ca.example", "CA:FALSE", "signed certificate 0"}, []string{"real CA"}},
		{"path-length", KindPathLength, 2, []string{"at most 0 intermediate", "the chain has 1"}, []string{"shorter chain"}},
		{"name-constraints", KindNameConstraints, 0, []string{`DNS name "localhost"`, "permitted DNS example.org"}, []string{"reissued"}},
		{"name-constraints-ip", KindNameConstraints, 0, []string{"IP address 127.0.0.1", "excluded IP 127.0.0.0/8"}, []string{"reissued"}},
		{"malformed", KindMalformed, 0, []string{"critical extension 1.3.6.1.4.1.55555.1.1"}, []string{"non-critical"}},
		{"pin-mismatch", KindPinMismatch, 0, []string{"no key in the chain matches", "sha256/"}, []string{"update the pin", "intercepted"}},
		{"expiring-soon", KindExpiringSoon, 0, []string{"expires on", "in 3 days"}, []string{"renew"}},
	}
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	byVariant := map[string]*testpki.Scenario{}
	for _, s := range scenarios {
		byVariant[s.Variant] = s
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			s := byVariant[tt.variant]
			if s == nil {
				t.Fatalf("no scenario %s", tt.variant)
			}
			r := Verify(s.Chain, Options{Roots: s.Pool(), Name: s.Name, Pins: s.Pins})
			var p *Problem
			for i := range r.Problems {
				if r.Problems[i].Kind == tt.kind {
					p = &r.Problems[i]
					break
				}
			}
			if p == nil {
				t.Fatalf("no %s problem in %v", tt.kind, r.Problems)
			}
			if p.Cert != tt.cert {
				t.Errorf("problem on certificate %d, want %d: %v", p.Cert, tt.cert, p)
			}
			for _, w := range tt.summary {
				if !strings.Contains(p.Summary, w) {
					t.Errorf("summary %q lacks %q", p.Summary, w)
				}
			}
			for _, w := range tt.fix {
				if !strings.Contains(p.Fix, w) {
					t.Errorf("fix %q lacks %q", p.Fix, w)
				}
			}
		})
	}
}

// TestAllProblemsAtOnce: an expired certificate with a wrong name shows
// both, and the report also says the intermediate is missing.
func TestAllProblemsAtOnce(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	k, err := testpki.NewRSAKey(1024)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(testpki.Options{DNSNames: []string{"other.example"}, Key: k,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	chain := leaf.Chain[:1]
	opts := Options{Roots: root.Pool(), Name: "mail.example.org"}
	r := Verify(chain, opts)
	checkInvariants(t, chain, opts, r)
	for _, k := range []Kind{KindExpired, KindNameMismatch, KindMissingIntermediate, KindWeakKey} {
		if !r.Has(k) {
			t.Errorf("missing %s in %v", k, r.Problems)
		}
	}
	var e *Error
	if err := r.Err(); err == nil {
		t.Fatal("Err() = nil")
	} else if e = err.(*Error); !strings.Contains(e.Error(), "expired") || e.Fix() == "" {
		t.Errorf("error %q / fix %q", e.Error(), e.Fix())
	}
}

func TestTimeOption(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	leaf := s.Chain[0]
	tests := []struct {
		at   time.Time
		want Kind
		ok   bool
	}{
		{leaf.NotAfter.Add(time.Hour), KindExpired, false},
		{leaf.NotBefore.Add(-time.Hour), KindNotYetValid, false},
		{leaf.NotAfter.Add(-24 * time.Hour), KindExpiringSoon, true},
		{leaf.NotBefore.Add(time.Hour), "", true},
	}
	for _, tt := range tests {
		opts := Options{Roots: s.Pool(), Name: "localhost", Time: tt.at}
		r := Verify(s.Chain, opts)
		checkInvariants(t, s.Chain, opts, r)
		if r.OK() != tt.ok || (tt.want != "" && !r.Has(tt.want)) || (tt.want == "" && len(r.Problems) > 0) {
			t.Errorf("at %v: want %q ok=%v, got %v", tt.at, tt.want, tt.ok, r.Problems)
		}
	}
	// A negative ExpiryWarning disables the warning.
	r := Verify(s.Chain, Options{Roots: s.Pool(), Time: leaf.NotAfter.Add(-time.Hour), ExpiryWarning: -1})
	if len(r.Problems) != 0 {
		t.Errorf("ExpiryWarning -1: %v", r.Problems)
	}
}

func TestEmptyAndNilChains(t *testing.T) {
	r := Verify(nil, Options{})
	if !r.Has(KindNoCertificate) || r.OK() {
		t.Errorf("nil chain: %v", r.Problems)
	}
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	r = Verify([]*x509.Certificate{s.Chain[0], nil}, Options{Roots: s.Pool()})
	if !r.Has(KindMalformed) || r.OK() {
		t.Errorf("nil intermediate: %v", r.Problems)
	}
	r = Verify([]*x509.Certificate{nil}, Options{Roots: s.Pool()})
	if !r.Has(KindMalformed) || r.OK() {
		t.Errorf("nil leaf: %v", r.Problems)
	}
	r = Verify([]*x509.Certificate{{}}, Options{Roots: s.Pool()})
	if !r.Has(KindMalformed) || r.OK() {
		t.Errorf("unparsed leaf: %v", r.Problems)
	}
}

// TestSystemRoots: with no --ca, a private chain is checked against the
// system's roots and said to be untrusted there.
func TestSystemRoots(t *testing.T) {
	s, err := testpki.NewBroken("self-signed")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Name: "localhost"}
	r := Verify(s.Chain, opts)
	checkInvariants(t, s.Chain, opts, r)
	if !r.Has(KindSelfSigned) || !strings.Contains(r.Problems[0].Summary, "the system's trusted roots") {
		t.Errorf("%v", r.Problems)
	}
}

// Summaries and fixes quote names from the certificate, which the peer
// chooses: they must reach a terminal without control characters (a
// forged "fix:" line, terminal escapes).
func TestProblemsQuotePeerTextSafely(t *testing.T) {
	evil := "evil\x1b[2J\r\n    fix: trust me"
	leaf, err := testpki.NewSelfSigned(testpki.Options{CommonName: evil, DNSNames: []string{"example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	r := Verify([]*x509.Certificate{leaf.Cert}, Options{Roots: x509.NewCertPool(), Name: "localhost"})
	if len(r.Problems) == 0 {
		t.Fatal("no problems")
	}
	for _, p := range r.Problems {
		for _, s := range []string{p.Summary, p.Fix, p.Subject} {
			if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Errorf("%s: control character in %q", p.Kind, s)
			}
		}
	}
}

// TestNameProblem: the exported name check (used by the Schannel provider
// with Windows' verdict) is the one Verify reports, word for word: nil
// for a matching or empty name, the names the certificate lists and a fix
// otherwise, peer text quoted.
func TestNameProblem(t *testing.T) {
	mk := func(cn string, dns []string, ips []net.IP) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips}
	}
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		check   string
		summary string // "" for no problem
	}{
		{"match", mk("", []string{"mail.example.com"}, nil), "mail.example.com", ""},
		{"wildcard match", mk("", []string{"*.example.com"}, nil), "mail.example.com", ""},
		{"no name to check", mk("", []string{"mail.example.com"}, nil), "", ""},
		{"other name", mk("", []string{"mail.example.com"}, nil), "smtp.example.org",
			`certificate 0 is valid for "mail.example.com", not for "smtp.example.org"`},
		{"common name only", mk("mail.example.com", nil, nil), "mail.example.com",
			`certificate 0 has no subjectAltName, only the common name "mail.example.com", which clients no longer use; it is not valid for "mail.example.com"`},
		{"no names", mk("", nil, nil), "mail.example.com", `certificate 0 names no host at all; it is not valid for "mail.example.com"`},
		{"IP without IP SANs", mk("", []string{"mail.example.com"}, nil), "192.0.2.1",
			`192.0.2.1 is an IP address but certificate 0 lists no IP addresses, only "mail.example.com"`},
		{"IP match", mk("", nil, []net.IP{net.ParseIP("192.0.2.1")}), "192.0.2.1", ""},
		{"control characters quoted", mk("", []string{"a\x1b[31m.example"}, nil), "b.example",
			`certificate 0 is valid for "a\x1b[31m.example", not for "b.example"`},
	}
	for _, tc := range tests {
		p := NameProblem(tc.leaf, tc.check)
		if tc.summary == "" {
			if p != nil {
				t.Errorf("%s: %+v", tc.name, p)
			}
			continue
		}
		if p == nil || p.Kind != KindNameMismatch || p.Severity != SeverityError || p.Cert != 0 || p.Summary != tc.summary ||
			!strings.Contains(p.Fix, "server name to verify") || strings.ContainsRune(p.Summary+p.Fix, 0x1b) {
			t.Errorf("%s: %+v, want summary %q", tc.name, p, tc.summary)
		}
	}
}

// TestNameProblemIsVerifys: Verify's name-mismatch problem for a real chain
// is NameProblem's.
func TestNameProblemIsVerifys(t *testing.T) {
	s, err := testpki.NewBroken("name-mismatch")
	if err != nil {
		t.Fatal(err)
	}
	r := Verify(s.Chain, Options{Roots: s.Pool(), Name: s.Name, Revocation: RevocationOff})
	var got *Problem
	for i := range r.Problems {
		if r.Problems[i].Kind == KindNameMismatch {
			got = &r.Problems[i]
		}
	}
	want := NameProblem(s.Chain[0], s.Name)
	if got == nil || want == nil || *got != *want {
		t.Errorf("Verify: %+v\nNameProblem: %+v", got, want)
	}
}

// TestSortProblems: errors first, otherwise in the order found.
func TestSortProblems(t *testing.T) {
	ps := []Problem{
		{Kind: KindExpiringSoon, Severity: SeverityWarning}, {Kind: KindExpired, Severity: SeverityError},
		{Kind: KindRevocationUnknown, Severity: SeverityWarning}, {Kind: KindNameMismatch, Severity: SeverityError},
	}
	SortProblems(ps)
	var got []Kind
	for _, p := range ps {
		got = append(got, p.Kind)
	}
	want := []Kind{KindExpired, KindNameMismatch, KindExpiringSoon, KindRevocationUnknown}
	if !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
