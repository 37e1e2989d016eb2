package trust

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// handshake serves s over TLS on loopback and verifies what the client
// receives, as the TLS providers do: the chain as sent and the staple.
func handshake(t *testing.T, s *testpki.Scenario, opts Options) Report {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{s.TLSCertificate()}})
		srvErr <- tc.Handshake()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var r Report
	tc := tls.Client(c, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			o := opts
			o.StapledOCSP = cs.OCSPResponse
			r = VerifyContext(context.Background(), cs.PeerCertificates, o)
			return nil
		}})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return r
}

// TestOverTLS: every scenario a Go TLS server can present is diagnosed the
// same from the wire as from the chain itself.
func TestOverTLS(t *testing.T) {
	scenarios, err := testpki.BrokenScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"revoked", "revoked-staple", "revocation-unknown"} {
		s, err := testpki.NewRevocationScenario(v)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		scenarios = append(scenarios, s)
	}
	for _, s := range scenarios {
		if s.Variant == "weak-key-p224" {
			continue // crypto/tls cannot sign with a P-224 key, so no Go server can present it
		}
		t.Run(s.Variant, func(t *testing.T) {
			opts := Options{Roots: s.Pool(), Name: s.Name, Pins: s.Pins, Checker: &Checker{}}
			r := handshake(t, s, opts)
			if !r.Has(Kind(s.Kind)) {
				t.Fatalf("want %s, got %v", s.Kind, r.Problems)
			}
			if len(r.Chain) != len(s.Chain) {
				t.Errorf("received %d certificates, sent %d", len(r.Chain), len(s.Chain))
			}
		})
	}
}
