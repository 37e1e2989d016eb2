package submit

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// TestHeals: which failures may go away with nothing changed. A
// revocation status that could not be learnt heals when the CRL or OCSP
// server is back; a revoked or untrusted certificate, a refused login, no
// STARTTLS and unusable settings wait for a fix, even though Classify
// defers some of them.
func TestHeals(t *testing.T) {
	problem := func(ks ...trust.Kind) error {
		var ps []trust.Problem
		for _, k := range ks {
			ps = append(ps, trust.Problem{Kind: k, Severity: trust.SeverityError, Summary: string(k)})
		}
		return &smtp.Error{Kind: smtp.KindCertificate, Op: "STARTTLS", Err: &trust.Error{Report: trust.Report{Problems: ps}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"revocation unknown", problem(trust.KindRevocationUnknown), true},
		{"revocation unknown and untrusted", problem(trust.KindRevocationUnknown, trust.KindUntrustedRoot), false},
		{"revoked", problem(trust.KindRevoked), false},
		{"certificate error without a report", &smtp.Error{Kind: smtp.KindCertificate, Op: "STARTTLS"}, false},
		{"login refused", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 535}}, false},
		{"login deferred", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 454}}, true},
		{"no STARTTLS", &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "STARTTLS"}, false},
		{"network", &smtp.Error{Kind: smtp.KindNetwork, Op: "connect"}, true},
		{"timeout", &smtp.Error{Kind: smtp.KindTimeout, Op: "greeting", Err: context.DeadlineExceeded}, true},
		{"4xx to MAIL", &smtp.Error{Kind: smtp.KindRejected, Op: "MAIL", Reply: &smtp.Reply{Code: 451}}, true},
		{"account unusable", fmt.Errorf("deliver: %w", &Error{Field: "ca_file", Msg: "m"}), false},
		{"configuration file", &config.Error{File: "f", Line: 1, Msg: "m"}, false},
	}
	for _, tc := range tests {
		if got := Heals(tc.err); got != tc.want {
			t.Errorf("%s: Heals %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConfigFix: which deferred failures are said not to heal by
// themselves, and what to fix then, in the msmtp file's words (moved from
// the command line's sendmail with its TestNeedsFixing rows). A
// revocation status that could not be learnt (the CRL or OCSP server out
// of reach) heals when it comes back: it was once reported as an
// untrusted certificate to fix.
func TestConfigFix(t *testing.T) {
	problem := func(k trust.Kind) error {
		return &smtp.Error{Kind: smtp.KindCertificate, Op: "STARTTLS",
			Err: &trust.Error{Report: trust.Report{Problems: []trust.Problem{{Kind: k, Severity: trust.SeverityError, Summary: string(k)}}}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
		fix  string // in the fix when want
	}{
		{"revocation unknown", problem(trust.KindRevocationUnknown), false, ""},
		{"revoked", problem(trust.KindRevoked), true, "tls_trust_file"},
		{"login refused", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 535}}, true, "passwordeval"},
		{"login deferred", &smtp.Error{Kind: smtp.KindAuth, Op: "AUTH", Reply: &smtp.Reply{Code: 454}}, false, ""},
		{"network", &smtp.Error{Kind: smtp.KindNetwork, Op: "connect"}, false, ""},
		{"no STARTTLS", &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "EHLO"}, true, "port or tls"},
		{"malformed token: its own fix", &smtp.Error{Kind: smtp.KindConfig, Op: "AUTH", Fix: "print the token alone"}, true, "print the token alone"},
		{"netrc: its own fix", &Error{Field: "netrc", Fix: "chmod 600 ~/.netrc"}, true, "chmod 600"},
		{"unusable settings", &Error{Field: "tls"}, true, "configuration file"},
	}
	for _, tc := range tests {
		fix, got := ConfigFix(tc.err)
		if got != tc.want || !strings.Contains(fix, tc.fix) || got != (fix != "") {
			t.Errorf("%s: ConfigFix = %q, %v; want %v with %q", tc.name, fix, got, tc.want, tc.fix)
		}
	}
}
