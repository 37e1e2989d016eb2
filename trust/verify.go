package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// Verify checks chain (leaf first, then the intermediates as sent) against
// opts and reports every problem found.
//
// TODO(issue 3): this first version maps crypto/x509's single verdict; the
// full diagnosis (all problems at once, missing intermediates, revocation,
// pins, key and signature strength) replaces it.
func Verify(chain []*x509.Certificate, opts Options) Report {
	r := Report{Chain: chain}
	if len(chain) == 0 {
		r.Problems = append(r.Problems, Problem{Kind: KindNoCertificate, Severity: SeverityError, Cert: -1,
			Summary: "the server sent no certificate", Fix: "configure the server with a certificate and key"})
		return r
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	vo := x509.VerifyOptions{Roots: opts.Roots, Intermediates: inter, DNSName: opts.Name, CurrentTime: opts.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	paths, err := chain[0].Verify(vo)
	if err == nil {
		r.Path = paths[0]
		return r
	}
	leaf := chain[0]
	p := Problem{Severity: SeverityError, Cert: 0, Subject: leaf.Subject.String(), Summary: err.Error()}
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &hn):
		p.Kind = KindNameMismatch
		p.Fix = fmt.Sprintf("connect with a name the certificate lists, or have the server's certificate reissued to include %q", opts.Name)
	case errors.As(err, &ua):
		p.Kind = KindUntrustedRoot
		p.Fix = "pass the issuing CA with --ca, or have the server use a certificate from a publicly trusted CA"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		p.Kind = KindExpired
		p.Fix = "renew the certificate on the server"
	default:
		p.Kind = KindMalformed
		p.Fix = "inspect the chain with 'tlsmail cert verify'"
	}
	r.Problems = append(r.Problems, p)
	return r
}
