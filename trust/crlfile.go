package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// checkCRLs looks up each certificate of the path, except the root, in
// the CRLs given in Options.CRLs (msmtp's tls_crl_file): a CRL counts for
// a certificate when its issuer name is the certificate's issuer's subject
// and the issuer's key verifies its signature (RFC 5280 section 6.3.3 (f)
// and (g)). A listed certificate is revoked whatever Revocation says; a
// CRL past its next update still counts for what it lists (a revocation
// is never undone, RFC 5280 section 5.3.1), and says nothing of the
// certificates it does not list, which the online check covers as usual.
func (v *verifier) checkCRLs() {
	if len(v.opts.CRLs) == 0 {
		return
	}
	for pos := 0; pos+1 < len(v.path); pos++ {
		idx := v.path[pos]
		cert, issuer := v.certs[idx], v.certs[v.path[pos+1]]
		if cert == nil || issuer == nil {
			continue
		}
		for _, crl := range v.opts.CRLs {
			if crl == nil || !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
				continue
			}
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber == nil || e.SerialNumber.Cmp(cert.SerialNumber) != 0 {
					continue
				}
				v.add(KindRevoked, SeverityError, idx,
					fmt.Sprintf("certificate %d (%s) was revoked on %s (reason: %s), according to the CRL file of %s", idx, subjectOf(cert), day(e.RevocationTime), reasonName(e.ReasonCode), subjectOf(issuer)),
					"the server must get and install a new certificate (and a new key if the key was compromised); a revoked certificate must not be trusted")
				return
			}
		}
	}
}

// ParseCRLs reads the certificate revocation lists of a CRL file: PEM
// blocks "X509 CRL" (the form msmtp's tls_crl_file takes), or one DER CRL
// (RFC 5280 section 5). A file with neither is an error.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CRL %d of the file: %v", len(out)+1, err)
		}
		out = append(out, crl)
	}
	if len(out) > 0 {
		return out, nil
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, errors.New("the file holds no CRL (neither PEM X509 CRL blocks nor a DER CRL)")
	}
	return []*x509.RevocationList{crl}, nil
}
