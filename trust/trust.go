// Package trust verifies certificate chains and explains the result.
//
// Verify never stops at the first problem: like the trust-status bits of
// Windows' CertGetCertificateChain, the Report lists every problem found, each
// with the certificate it is in, a one-line summary with the concrete values,
// and a fix a person can act on.
package trust

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind identifies a problem. The values are stable: they appear in JSON
// output and in the documentation.
type Kind string

const (
	KindExpired             Kind = "expired"
	KindNotYetValid         Kind = "not-yet-valid"
	KindNameMismatch        Kind = "name-mismatch"
	KindSelfSigned          Kind = "self-signed"
	KindUntrustedRoot       Kind = "untrusted-root"
	KindMissingIntermediate Kind = "missing-intermediate"
	KindRevoked             Kind = "revoked"
	KindRevocationUnknown   Kind = "revocation-unknown"
	KindWeakSignature       Kind = "weak-signature"
	KindWeakKey             Kind = "weak-key"
	KindWrongUsage          Kind = "wrong-usage"
	KindNotACA              Kind = "not-a-ca"
	KindPathLength          Kind = "path-length"
	KindNameConstraints     Kind = "name-constraints"
	KindMalformed           Kind = "malformed"
	KindPinMismatch         Kind = "pin-mismatch"
	KindExpiringSoon        Kind = "expiring-soon"
	KindNoCertificate       Kind = "no-certificate"
	// KindUnparseable is a certificate the server sent that crypto/x509
	// cannot parse (a malformed name, extension or encoding, RFC 5280
	// section 4): no verifier built on it can check the chain.
	KindUnparseable Kind = "unparseable-certificate"
)

// Severity says whether a problem fails verification.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one thing wrong with a chain.
type Problem struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// Cert is the index of the certificate in the chain as given (0 is the
	// leaf); -1 when the problem concerns the chain as a whole.
	Cert    int    `json:"certificate"`
	Subject string `json:"subject,omitempty"`
	Summary string `json:"summary"`
	Fix     string `json:"fix"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s (%s): %s", p.Kind, p.Severity, p.Summary)
}

// Report is the result of Verify.
type Report struct {
	// Chain is the chain as given, leaf first.
	Chain []*x509.Certificate `json:"-"`
	// Path is the verified path from the leaf to a trusted root, when one
	// was found.
	Path []*x509.Certificate `json:"-"`
	// Problems lists every problem found, errors first.
	Problems []Problem `json:"problems"`
	// Anchor is the trusted root that completes the chain when the server
	// did not send it (servers normally do not). Problem.Cert equal to
	// len(Chain) refers to it.
	Anchor *x509.Certificate `json:"-"`
	// PathIndex is the path that was built, leaf first, as indices into
	// Certificates(): the verified path when there is one, otherwise the
	// longest issuer-to-subject path the diagnosis could follow.
	PathIndex []int `json:"-"`
	// Trusted is true when the path ends in a trusted root.
	Trusted bool `json:"-"`
	// Revocation holds the revocation status of each certificate checked.
	Revocation []RevocationResult `json:"revocation,omitempty"`

	// unexplained is set when crypto/x509 rejected the chain and none of
	// the diagnostic checks found why (tests assert it stays false).
	unexplained bool
}

// Certificates returns the chain as given followed by Anchor, if any: the
// list that Problem.Cert indexes.
func (r Report) Certificates() []*x509.Certificate {
	if r.Anchor == nil {
		return r.Chain
	}
	out := make([]*x509.Certificate, 0, len(r.Chain)+1)
	out = append(out, r.Chain...)
	return append(out, r.Anchor)
}

// OK reports whether no problem is an error.
func (r Report) OK() bool {
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			return false
		}
	}
	return true
}

// SortProblems puts the errors of ps before its warnings, keeping the
// order in which they were found otherwise: the order of Report.Problems,
// whoever builds the report (package trust, or a provider that takes
// Windows' verdict).
func SortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		return ps[i].Severity == SeverityError && ps[j].Severity != SeverityError
	})
}

// Has reports whether the report contains a problem of kind k.
func (r Report) Has(k Kind) bool {
	for _, p := range r.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}

// Errors returns the error-level problems.
func (r Report) Errors() []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// Err returns a *Error when the report has an error-level problem, else nil.
func (r Report) Err() error {
	if r.OK() {
		return nil
	}
	return &Error{Report: r}
}

// Error is a chain that failed verification. errors.As finds it under the
// handshake and send errors.
type Error struct {
	Report Report
}

func (e *Error) Error() string {
	errs := e.Report.Errors()
	if len(errs) == 0 {
		return "certificate verification failed"
	}
	parts := make([]string, 0, len(errs))
	for _, p := range errs {
		parts = append(parts, p.Summary)
	}
	return "certificate verification failed: " + strings.Join(parts, "; ")
}

// Fix returns the fix of the first error-level problem.
func (e *Error) Fix() string {
	for _, p := range e.Report.Errors() {
		return p.Fix
	}
	return ""
}

// RevocationMode selects how revocation is checked.
type RevocationMode string

const (
	// RevocationSoft: a revoked certificate is an error, an unknown status a
	// warning. The default.
	RevocationSoft RevocationMode = "soft"
	// RevocationStrict: an unknown status is an error too.
	RevocationStrict RevocationMode = "strict"
	// RevocationOff: revocation is not checked.
	RevocationOff RevocationMode = "off"
)

// Options configures Verify.
type Options struct {
	// Roots are the trusted roots; nil means the system's.
	Roots *x509.CertPool
	// Name is the DNS name or IP address the leaf must be valid for; empty
	// skips the name check.
	Name string
	// Time is the reference time; zero means now.
	Time time.Time
	// Pins are SPKI pins ("sha256/BASE64"); when set, at least one
	// certificate in the chain must match one of them.
	Pins []string
	// Revocation selects the revocation policy; empty means RevocationSoft.
	Revocation RevocationMode
	// StapledOCSP is the OCSP response the server stapled, if any.
	StapledOCSP []byte
	// CRLs are certificate revocation lists given locally (msmtp's
	// tls_crl_file; see ParseCRLs): a certificate of the path that a CRL
	// of its issuer lists is revoked, whatever Revocation says; one past
	// its next update draws a warning for what it does not list.
	CRLs []*CRL
	// ExpiryWarning is how close to expiry a certificate draws the
	// expiring-soon warning; zero means 14 days, negative disables it.
	ExpiryWarning time.Duration
	// Checker fetches CRLs and OCSP responses and caches them. Share one
	// across calls (a program keeps one for its lifetime) so that each CRL
	// is fetched once; nil uses DefaultChecker(), the one the whole
	// process shares (with its on-disk cache).
	Checker *Checker
	// Cache, if set, remembers verdicts for chains seen before (see
	// Cache for when one is reused); nil verifies every time.
	Cache *Cache
	// Sent, when above 0, is how many certificates at the start of the
	// chain the server sent; the ones after them were found otherwise
	// (Windows' chain engine fetches a missing intermediate from its
	// issuer's URL or a store). A summary names such a certificate "a
	// certificate the server did not send (SUBJECT)", not by its index,
	// which is no index of the chain the server sent; Problem.Cert still
	// counts the chain given. 0 means the server sent the whole chain.
	Sent int
}

func (o Options) now() time.Time {
	if o.Time.IsZero() {
		return time.Now()
	}
	return o.Time
}
