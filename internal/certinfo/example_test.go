package certinfo_test

import (
	"fmt"
	"os"

	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// The verdict line comes first in the human output.
func ExampleResult_Verdict() {
	s, err := testpki.NewBroken("expired")
	if err != nil {
		panic(err)
	}
	opts := trust.Options{Roots: s.Pool(), Name: s.Name}
	res := certinfo.FromReport(trust.Verify(s.Chain, opts), opts)
	fmt.Println(res.Verdict())
	fmt.Println(certinfo.ExitCode(&res, nil))
	// Output:
	// FAIL: the certificate chain for localhost is not trusted (1 error)
	// 1
}

// Input problems are typed so that the CLI can map them to exit codes.
func ExampleLoadChain() {
	_, err := certinfo.LoadChain(os.DevNull)
	fmt.Println(err)
	fmt.Println(certinfo.ExitCode(nil, err))
	// Output:
	// /dev/null: no PEM data found; the file should contain "-----BEGIN CERTIFICATE-----" blocks, leaf first (convert DER with 'openssl x509 -inform der')
	// 66
}
