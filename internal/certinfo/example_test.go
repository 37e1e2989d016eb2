package certinfo_test

import (
	"errors"
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
	fmt.Println(res.OK, res.Errors())
	// Output:
	// FAIL: the certificate chain for localhost is not trusted (1 error)
	// false 1
}

// Input problems are typed (*InputError) so that the CLI can map them to
// an exit code.
func ExampleLoadChain() {
	_, err := certinfo.LoadChain(os.DevNull)
	fmt.Println(err)
	var ie *certinfo.InputError
	fmt.Println(errors.As(err, &ie))
	// Output:
	// /dev/null: no PEM data found; the file should contain "-----BEGIN CERTIFICATE-----" blocks, leaf first (convert DER with 'openssl x509 -inform der')
	// true
}
