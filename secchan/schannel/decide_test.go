package schannel

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// TestDecideSystem drives the system-trust decision with what crypt32 could
// return, including results Wine never returns (its chain engine trusts no
// test root, and its SSL policy stops at the first error): an offline CRL
// or OCSP responder together with a wrong name, and so on. Every error must
// be reported, the name always checked, and revocation must follow the
// configured mode.
func TestDecideSystem(t *testing.T) {
	p, err := testpki.NewPKI([]string{"mail.example.com"}, []net.IP{net.ParseIP("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	chain := p.Server.Chain // leaf, intermediate
	root := p.Root.Cert
	const offline = trustRevocationStatusUnknown | trustIsOfflineRevocation
	// elems is the chain crypt32 builds from the server's certificates up
	// to the root, with the given bits on the leaf and the intermediate.
	elems := func(leaf, inter, top uint32) []chainElement {
		return []chainElement{{Cert: chain[0], Index: 0, Status: leaf}, {Cert: chain[1], Index: 1, Status: inter}, {Cert: root, Index: -1, Status: top}}
	}
	ok := policyResult{}
	pol := func(code uint32) policyResult { return policyResult{Status: code} }

	type want map[trust.Kind]trust.Severity
	cases := []struct {
		name   string
		res    systemResult
		server string
		mode   trust.RevocationMode
		want   want // every problem, by kind
		ok     bool // accepted
		crls   []*trust.CRL
		sent   []*x509.Certificate // the server's chain; nil means chain
		// unsent, when set, is a certificate the server did not send: a
		// problem on index -1 must name it by subject as such.
		unsent *x509.Certificate
	}{
		{
			// The attack of issue 10: the CA's CRL and OCSP servers are
			// blocked, the policy stops at CRYPT_E_REVOCATION_OFFLINE,
			// which soft mode takes as a warning, and never compares the
			// name.
			name:   "revocation offline + wrong name",
			res:    systemResult{Elements: elems(offline, offline, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: pol(certECNNoMatch)},
			server: "bank.example.org",
			want:   want{trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// The same, and the name-only policy call could not judge
			// either: the Go-side check still refuses.
			name:   "revocation offline + wrong name, name policy failed",
			res:    systemResult{Elements: elems(offline, offline, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: policyResult{Err: errors.New("call failed")}},
			server: "bank.example.org",
			want:   want{trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// What Wine's name-only call answered for a leaf whose
			// signature does not verify (seen with a cached intermediate
			// of the same name): a non-name error, as that check cannot
			// be switched off. The name is still judged, by the Go check.
			name:   "name-only policy stops at a bad signature + wrong name",
			res:    systemResult{Elements: elems(trustIsNotSignatureValid, 0, 0), ChainStatus: trustIsNotSignatureValid, Policy: pol(trustECertSignature), NamePolicy: pol(trustECertSignature)},
			server: "bank.example.org",
			want:   want{trust.KindMalformed: trust.SeverityError, trust.KindNameMismatch: trust.SeverityError},
		},
		{
			name:   "revocation offline + expired + wrong name",
			res:    systemResult{Elements: elems(offline|trustIsNotTimeValid, offline, 0), ChainStatus: offline | trustIsNotTimeValid, Policy: pol(certEExpired), NamePolicy: pol(certECNNoMatch)},
			server: "bank.example.org",
			want:   want{trust.KindExpired: trust.SeverityError, trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// What Wine's policy says for an offline CRL:
			// CERT_E_REVOCATION_FAILURE, with the offline bit on the leaf.
			name:   "revocation failure + wrong name",
			res:    systemResult{Elements: elems(trustIsOfflineRevocation, 0, 0), ChainStatus: trustIsOfflineRevocation, Policy: pol(certERevFailure), NamePolicy: pol(certECNNoMatch)},
			server: "bank.example.org",
			want:   want{trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			name:   "soft: policy CERT_E_REVOCATION_FAILURE is a warning",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: pol(certERevFailure), NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevocationUnknown: trust.SeverityWarning},
			ok:     true,
		},
		{
			name: "revocation unknown + untrusted root + wrong name",
			res: systemResult{Elements: elems(trustRevocationStatusUnknown, trustRevocationStatusUnknown, trustIsUntrustedRoot),
				SimpleStatus: trustIsUntrustedRoot | trustRevocationStatusUnknown, ChainStatus: trustIsUntrustedRoot | trustRevocationStatusUnknown,
				Policy: pol(certEUntrustedRoot), NamePolicy: pol(certECNNoMatch)},
			server: "bank.example.org",
			want:   want{trust.KindUntrustedRoot: trust.SeverityError, trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			name: "strict: revocation unknown + untrusted root",
			res: systemResult{Elements: elems(trustRevocationStatusUnknown, 0, trustIsUntrustedRoot),
				SimpleStatus: trustIsUntrustedRoot | trustRevocationStatusUnknown, ChainStatus: trustIsUntrustedRoot | trustRevocationStatusUnknown,
				Policy: pol(certEUntrustedRoot), NamePolicy: ok},
			server: "mail.example.com",
			mode:   trust.RevocationStrict,
			want:   want{trust.KindUntrustedRoot: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityError},
		},
		{
			// A policy that passes a name the certificate does not list
			// (as Windows does for a subject common name without SANs):
			// the Go-side check refuses.
			name:   "policy OK but the name mismatches",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "bank.example.org",
			want:   want{trust.KindNameMismatch: trust.SeverityError},
		},
		{
			// And the other way: Windows' name-only call refuses a name
			// the Go check accepts; the stricter verdict wins.
			name:   "name-only policy refuses, Go check accepts",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: pol(certECNNoMatch)},
			server: "mail.example.com",
			want:   want{trust.KindNameMismatch: trust.SeverityError},
		},
		{
			name:   "strict: revocation offline is an error",
			res:    systemResult{Elements: elems(offline, 0, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			mode:   trust.RevocationStrict,
			want:   want{trust.KindRevocationUnknown: trust.SeverityError},
		},
		{
			// Only the policy says so (no element bit): strict still
			// refuses.
			name:   "strict: policy CRYPT_E_NO_REVOCATION_CHECK is an error",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: pol(cryptENoRevCheck), NamePolicy: ok},
			server: "mail.example.com",
			mode:   trust.RevocationStrict,
			want:   want{trust.KindRevocationUnknown: trust.SeverityError},
		},
		{
			name:   "soft: revocation offline is a warning",
			res:    systemResult{Elements: elems(offline, 0, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			mode:   trust.RevocationSoft,
			want:   want{trust.KindRevocationUnknown: trust.SeverityWarning},
			ok:     true,
		},
		{
			name:   "default mode is soft",
			res:    systemResult{Elements: elems(offline, 0, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevocationUnknown: trust.SeverityWarning},
			ok:     true,
		},
		{
			name:   "off: no revocation problem",
			res:    systemResult{Elements: elems(offline, 0, 0), ChainStatus: offline, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			mode:   trust.RevocationOff,
			want:   want{},
			ok:     true,
		},
		{
			name:   "revoked + wrong name",
			res:    systemResult{Elements: elems(trustIsRevoked, 0, 0), ChainStatus: trustIsRevoked, Policy: pol(cryptERevoked), NamePolicy: pol(certECNNoMatch)},
			server: "bank.example.org",
			want:   want{trust.KindRevoked: trust.SeverityError, trust.KindNameMismatch: trust.SeverityError},
		},
		{
			name:   "chain not built + wrong name",
			res:    systemResult{BuildErr: errors.New("CertGetCertificateChain: out of memory")},
			server: "bank.example.org",
			want:   want{trust.KindMalformed: trust.SeverityError, trust.KindNameMismatch: trust.SeverityError},
		},
		{
			// The trailing dot is the absolute form of the same name.
			name:   "trailing dot",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "mail.example.com.",
			want:   want{},
			ok:     true,
		},
		{
			// Windows' policy is not given IP addresses (Wine's refuses
			// them all); were it to refuse one, the Go check of the IP
			// SANs decides.
			name:   "IP address in the SANs",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: pol(certECNNoMatch)},
			server: "192.0.2.1",
			want:   want{},
			ok:     true,
		},
		{
			name:   "IP address not in the SANs",
			res:    systemResult{Elements: elems(offline, 0, 0), ChainStatus: offline, Policy: pol(cryptERevOffline)},
			server: "192.0.2.2",
			want:   want{trust.KindNameMismatch: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// CertVerifyCertificateChainPolicy itself failed: Windows
			// gave no verdict on the chain, which must not pass as a
			// clean one because no element bit is set.
			name:   "SSL policy call failed",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: policyResult{Err: errors.New("call failed")}, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindMalformed: trust.SeverityError},
		},
		{
			// A chain context with no simple chain (ChainCount 0):
			// nothing was judged, so nothing is trusted.
			name:   "no chain elements",
			res:    systemResult{Policy: ok, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindMalformed: trust.SeverityError},
		},
		{
			// The policy stops at the offline CRL, a warning in soft
			// mode, and never reports CERT_E_CRITICAL: the element's
			// CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT bit must refuse
			// the chain on its own, as every other error bit does.
			name:   "revocation offline + unsupported critical extension",
			res:    systemResult{Elements: elems(offline|trustHasNotSupportedCriticalExt, 0, 0), ChainStatus: offline | trustHasNotSupportedCriticalExt, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindMalformed: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// An error bit this code does not know (a later Windows's)
			// is an error, not nothing.
			name:   "unknown trust error bit",
			res:    systemResult{Elements: elems(0x20000000, 0, 0), ChainStatus: 0x20000000, Policy: pol(cryptERevOffline), NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindMalformed: trust.SeverityError, trust.KindRevocationUnknown: trust.SeverityWarning},
		},
		{
			// A Unicode (U-label) name: certificates carry the A-label
			// (xn--...) form (RFC 5280 section 7.2), and the Go check does
			// not convert, so the name is refused even if Windows' policy,
			// which may convert it, passed it.
			name:   "Unicode name, policy passed",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "mail.exämple.com",
			want:   want{trust.KindNameMismatch: trust.SeverityError},
		},
		{
			name:   "clean chain",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "MAIL.example.com",
			want:   want{},
			ok:     true,
		},
		{
			// crypt32 is not given the local CRLs (tls_crl_file): the
			// Go check finds the revocation they show.
			name:   "clean chain, leaf in a local CRL",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevoked: trust.SeverityError},
			crls:   []*trust.CRL{revokes(t, p.Intermediate, chain[0])},
		},
		{
			// The server sent its leaf alone and crypt32 fetched the
			// intermediate (AIA or a store: Index -1): the local check
			// must use the chain Windows built to pair the leaf with its
			// issuer, or the local CRL's revocation goes unread.
			name: "intermediate fetched by Windows, leaf in a local CRL",
			res: systemResult{Elements: []chainElement{{Cert: chain[0], Index: 0}, {Cert: chain[1], Index: -1}, {Cert: root, Index: -1}},
				Policy: ok, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevoked: trust.SeverityError},
			crls:   []*trust.CRL{revokes(t, p.Intermediate, chain[0])},
			sent:   chain[:1],
		},
		{
			// The same with the intermediate revoked by the root's local
			// CRL: a certificate the server did not send is reported on
			// no index of its chain.
			name: "intermediate fetched by Windows, in a local CRL",
			res: systemResult{Elements: []chainElement{{Cert: chain[0], Index: 0}, {Cert: chain[1], Index: -1}, {Cert: root, Index: -1}},
				Policy: ok, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevoked: trust.SeverityError},
			crls:   []*trust.CRL{revokes(t, p.Root, chain[1])},
			sent:   chain[:1],
			unsent: chain[1],
		},
		{
			// A local CRL past its next update that does not list the
			// leaf: accepted, with the warning package trust gives.
			name:   "clean chain, local CRL past its next update",
			res:    systemResult{Elements: elems(0, 0, 0), Policy: ok, NamePolicy: ok},
			server: "mail.example.com",
			want:   want{trust.KindRevocationUnknown: trust.SeverityWarning},
			ok:     true,
			crls:   []*trust.CRL{crlOf(t, p.Intermediate, big.NewInt(4242), time.Now().Add(-48*time.Hour))},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := trust.Options{Name: c.server, Revocation: c.mode, ExpiryWarning: -1, CRLs: c.crls}
			sent := c.sent
			if sent == nil {
				sent = chain
			}
			r := decideSystem(c.res, sent, opts)
			got := map[trust.Kind]trust.Severity{}
			for _, p := range r.Problems {
				t.Logf("problem: %s", p)
				if prev, dup := got[p.Kind]; dup && prev == trust.SeverityError {
					continue
				}
				got[p.Kind] = p.Severity
			}
			for k, sev := range c.want {
				if got[k] != sev {
					t.Errorf("%s: got severity %q, want %q", k, got[k], sev)
				}
			}
			for k := range got {
				if _, ok := c.want[k]; !ok {
					t.Errorf("unexpected problem %s", k)
				}
			}
			if r.OK() != c.ok {
				t.Errorf("OK() = %v, want %v", r.OK(), c.ok)
			}
			named := false
			for i, p := range r.Problems {
				// A problem on no index of the server's chain cannot
				// call its certificate by an index.
				if p.Cert < 0 && certIndexText.MatchString(p.Summary) {
					t.Errorf("problem on index -1 names a certificate by index: %q", p.Summary)
				}
				if c.unsent != nil && p.Cert < 0 && strings.Contains(p.Summary, "the server did not send") &&
					strings.Contains(p.Summary, c.unsent.Subject.String()) {
					named = true
				}
				if i > 0 && p.Severity == trust.SeverityError && r.Problems[i-1].Severity != trust.SeverityError {
					t.Errorf("problem %d (%s) is an error after a warning: errors come first", i, p)
				}
				if p.Cert >= len(sent) {
					t.Errorf("problem %s on certificate %d of a chain of %d", p, p.Cert, len(sent))
				}
				if p.Kind == trust.KindNameMismatch {
					if p.Cert != 0 {
						t.Errorf("name-mismatch on certificate %d, want 0 (the leaf)", p.Cert)
					}
					if !strings.Contains(p.Summary, strings.TrimSuffix(c.server, ".")) {
						t.Errorf("name-mismatch summary %q does not name %q", p.Summary, c.server)
					}
				}
			}
			if c.unsent != nil && !named {
				t.Errorf("no problem names %s as a certificate the server did not send", c.unsent.Subject)
			}
		})
	}
}

// certIndexText matches a certificate named by its index in the server's
// chain ("certificate 1").
var certIndexText = regexp.MustCompile(`\bcertificate \d`)

// TestPolicyServerName: the name the SSL policy and the Go check get has no
// trailing dot (Windows' policy compares it as is, and no certificate name
// ends in a dot), and an IPv6 literal no brackets; an IP address is not
// given to the policy at all.
func TestPolicyServerName(t *testing.T) {
	for in, want := range map[string]string{
		"mail.example.com.": "mail.example.com",
		"mail.example.com":  "mail.example.com",
		"localhost.":        "localhost",
		"[::1]":             "::1",
		"::1":               "::1",
		"127.0.0.1":         "127.0.0.1",
		"":                  "",
	} {
		if got := policyServerName(in); got != want {
			t.Errorf("policyServerName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"mail.example.com.": "mail.example.com",
		"[::1]":             "",
		"127.0.0.1":         "",
		"":                  "",
	} {
		if got := windowsServerName(in); got != want {
			t.Errorf("windowsServerName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNameOnlyPolicyFlags: the second policy call switches off every check
// but the name.
func TestNameOnlyPolicyFlags(t *testing.T) {
	if nameOnlyChecks&securityFlagIgnoreCertCNInvalid != 0 {
		t.Error("the name-only call ignores the name (SECURITY_FLAG_IGNORE_CERT_CN_INVALID)")
	}
	for _, f := range []uint32{securityFlagIgnoreRevocation, securityFlagIgnoreUnknownCA, securityFlagIgnoreWrongUsage, securityFlagIgnoreCertDateInvalid} {
		if nameOnlyChecks&f == 0 {
			t.Errorf("fdwChecks 0x%X lacks 0x%X", nameOnlyChecks, f)
		}
	}
	// CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG, ALLOW_UNKNOWN_CA_FLAG,
	// IGNORE_WRONG_USAGE_FLAG, IGNORE_ALL_REV_UNKNOWN_FLAGS.
	for _, f := range []uint32{0x1, 0x10, 0x20, 0xF00} {
		if nameOnlyPolicyFlags&f != f {
			t.Errorf("dwFlags 0x%X lacks 0x%X", nameOnlyPolicyFlags, f)
		}
	}
}

// TestRevocationTimeout: chain building gets a bounded budget for all its
// CRL and OCSP fetches together, from the handshake's deadline, and never 0
// (Windows' default of 15 seconds per URL). The budget is the share every
// provider gives its fetches (secchan.RevocationBudget: half of what is
// left), not a share of its own.
func TestRevocationTimeout(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		deadline time.Time
		perFetch time.Duration
		want     uint32
	}{
		{"deadline in 20s", now.Add(20 * time.Second), 0, 10000},
		{"deadline wins over the per-fetch timeout", now.Add(4 * time.Second), time.Minute, 2000},
		{"no deadline: the per-fetch timeout", time.Time{}, 3 * time.Second, 3000},
		{"no deadline, no per-fetch timeout", time.Time{}, 0, uint32(trust.DefaultFetchTimeout.Milliseconds())},
		{"deadline passed", now.Add(-time.Second), 0, 1},
		{"deadline now", now, 0, 1},
		{"far deadline", now.Add(2000 * time.Hour), 0, 1 << 31},
		// A deadline a century away (--timeout 1000000h) must not
		// overflow.
		{"deadline a century away", now.Add(1_000_000 * time.Hour), 0, 1 << 31},
		{"deadline at the end of time", time.Unix(1<<62, 0), 0, 1 << 31},
	}
	for _, c := range cases {
		if got := revocationTimeout(now, c.deadline, c.perFetch); got != c.want {
			t.Errorf("%s: %d ms, want %d", c.name, got, c.want)
		}
	}
	// The same share as the crypto/tls provider's (secchan.RevocationContext).
	for _, left := range []time.Duration{time.Second, 20 * time.Second, 7 * time.Minute} {
		b, _ := secchan.RevocationBudget(now, now.Add(left))
		if got := revocationTimeout(now, now.Add(left), 0); int64(got) != b.Milliseconds() {
			t.Errorf("%v left: %d ms, secchan.RevocationBudget %v", left, got, b)
		}
	}
}

// revokes is a CRL of ca that lists c.
func revokes(t *testing.T, ca *testpki.Authority, c *x509.Certificate) *trust.CRL {
	return crlOf(t, ca, c.SerialNumber, time.Now().Add(-time.Hour))
}

// crlOf is a CRL of ca issued at this, due to be replaced two hours later,
// that lists serial.
func crlOf(t *testing.T, ca *testpki.Authority, serial *big.Int, this time.Time) *trust.CRL {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: this, NextUpdate: this.Add(2 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: serial, RevocationTime: this}}},
		ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	crls, err := trust.ParseCRLs(der)
	if err != nil {
		t.Fatal(err)
	}
	return crls[0]
}
