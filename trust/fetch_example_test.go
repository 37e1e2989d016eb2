package trust_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/trust"
)

// A program that already has an HTTP stack (here net/http) hands it to the
// Checker through Fetch; nil Fetch uses the built-in client.
func ExampleChecker_Fetch() {
	s, err := testpki.NewRevocationScenario("revoked") // a CRL server on loopback
	if err != nil {
		panic(err)
	}
	defer s.Close()

	client := &http.Client{}
	checker := &trust.Checker{Fetch: func(ctx context.Context, method, url, contentType string, body []byte) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP status %s", resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, trust.DefaultMaxFetchSize+1))
	}}
	r := trust.Verify(s.Chain, trust.Options{Roots: s.Pool(), Name: s.Name, Checker: checker})
	fmt.Println(r.Has(trust.KindRevoked))
	// Output: true
}
