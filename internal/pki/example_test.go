package pki_test

import (
	"crypto/x509"
	"fmt"

	"github.com/tlsmail/tlsmail/internal/pki"
)

// A throwaway CA for a loopback server, as tlsmail serve makes one.
func ExampleNewPKI() {
	p, err := pki.NewPKI(nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	inter := x509.NewCertPool()
	inter.AddCert(p.Intermediate.Cert)
	_, err = p.Server.Cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: p.Root.Pool(), Intermediates: inter})
	fmt.Println(p.Server.Cert.DNSNames, len(p.Server.Chain), err)
	// Output: [localhost] 2 <nil>
}
