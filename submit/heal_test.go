package submit

import (
	"context"
	"fmt"
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
