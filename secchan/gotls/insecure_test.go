package gotls_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/trust"
)

// handshake runs one client handshake against a loopback TLS server
// presenting cert and returns the client's result.
func handshake(t *testing.T, cert tls.Certificate, cfg *secchan.Config) (secchan.Conn, error) {
	t.Helper()
	return handshakeWithin(t, cert, cfg, 10*time.Second)
}

// handshakeWithin is handshake with the client's context ending after d.
func handshakeWithin(t *testing.T, cert tls.Certificate, cfg *secchan.Config, d time.Duration) (secchan.Conn, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if tc.Handshake() == nil {
			tc.Write([]byte("x")) // lets a TLS 1.3 client see a late alert
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// As smtp.Client does: the connection's deadline and the context's
	// are the same step timeout.
	conn.SetDeadline(time.Now().Add(d))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := gotls.Provider{}.Client(ctx, conn, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// --insecure ignores the trust verdict but not a pin: a pin is given on
// purpose, and with an untrusted chain it is the only thing that tells the
// server from an interceptor (as curl's --pinnedpubkey holds under -k).
func TestInsecureStillEnforcesPins(t *testing.T) {
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pin  string
		ok   bool
	}{
		{"pin matches the untrusted leaf", trust.SPKIPin(s.Chain[0]), true},
		{"pin of another key", trust.SPKIPin(other.Chain[0]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &secchan.Config{ServerName: "localhost", Insecure: true,
				Trust: trust.Options{Roots: other.Pool(), Pins: []string{tt.pin}}} // s's root is not trusted
			c, err := handshake(t, s.TLSCertificate(), cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				if st := c.State(); st.Verified || !st.Report.Has(trust.KindUntrustedRoot) {
					t.Errorf("the untrusted root is not recorded: %v", st.Report.Problems)
				}
				return
			}
			var te *trust.Error
			if !errors.As(err, &te) || !te.Report.Has(trust.KindPinMismatch) {
				t.Fatalf("handshake error = %v, want a *trust.Error with pin-mismatch", err)
			}
		})
	}
}

// TestNoServerNameRefused: a Config that names no server is refused before
// the handshake (with no name, any certificate from a trusted CA would
// pass), unless the caller asks for an insecure connection by name.
func TestNoServerNameRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     *secchan.Config
		wantErr bool
	}{
		{"nil config", nil, true},
		{"empty", &secchan.Config{}, true},
		{"trust name only", &secchan.Config{Trust: trust.Options{Name: "localhost"}}, false},
		{"insecure", &secchan.Config{Insecure: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			go io.Copy(io.Discard, b) // a handshake that starts gets nowhere; the name check comes first
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := gotls.Provider{}.Client(ctx, a, tc.cfg)
			if got := errors.Is(err, secchan.ErrNoServerName); got != tc.wantErr {
				t.Errorf("Client: %v; want ErrNoServerName: %v", err, tc.wantErr)
			}
		})
	}
}
