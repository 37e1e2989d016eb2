//go:build windows

package schannel_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
	"github.com/tlsmail/tlsmail/trust"
)

// Example runs implicit TLS (as on port 465) with Schannel against a
// server on this machine whose certificate a throwaway CA issued; trusting
// that CA (as --ca does), the chain is verified. A real program dials the
// mail server instead, and leaves Trust.Roots nil to let Windows decide.
func Example() {
	pki, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		panic(err)
	}
	addr, _ := exampleServer(&tls.Config{Certificates: []tls.Certificate{pki.Server.TLSCertificate()}})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := &secchan.Config{ServerName: "localhost", Trust: trust.Options{Roots: pki.Root.Pool()}}
	conn, err := schannel.Provider{}.Client(ctx, raw, cfg)
	if err != nil {
		fmt.Println(err) // a *trust.Error, *secchan.HandshakeError or wraps a *schannel.CertError
		return
	}
	defer conn.Close()
	st := conn.State()
	fmt.Println("verified:", st.Verified, "up to", st.Report.Path[len(st.Report.Path)-1].Subject.CommonName)
	// Output: verified: true up to tlsmail Test Root CA
}

// ExampleAddToStore puts a client certificate and its RSA key into
// CurrentUser\MY and selects it by thumbprint, as --cert-store MY
// --cert-thumbprint would, for a server that requires a client
// certificate; then removes it again.
func ExampleAddToStore() {
	pki, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		panic(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	client, err := pki.Root.Issue(testpki.Options{CommonName: "alice@example.org " + rand.Text()[:8], Key: key,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		panic(err)
	}

	tp, err := schannel.AddToStore(schannel.StoreCert{Store: "MY"}, client.TLSCertificate())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer schannel.RemoveFromStore(schannel.StoreCert{Store: "MY", Thumbprint: tp})

	addr, seen := exampleServer(&tls.Config{Certificates: []tls.Certificate{pki.Server.TLSCertificate()},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.Root.Pool()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := schannel.Provider{ClientCert: &schannel.StoreCert{Store: "MY", Thumbprint: tp}}
	conn, err := p.Client(ctx, raw, &secchan.Config{ServerName: "localhost", Trust: trust.Options{Roots: pki.Root.Pool()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.Close()
	fmt.Println("the server verified the store's certificate:", <-seen == client.Cert.Subject.CommonName)
	// Output: the server verified the store's certificate: true
}

// exampleServer accepts one TLS connection on loopback with cfg and sends
// the client certificate's common name (or "") on the channel once the
// handshake is over.
func exampleServer(cfg *tls.Config) (addr string, seen <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ch := make(chan string, 1)
	go func() {
		defer ln.Close()
		raw, err := ln.Accept()
		if err != nil {
			ch <- ""
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(30 * time.Second))
		c := tls.Server(raw, cfg)
		if err := c.Handshake(); err != nil {
			ch <- ""
			return
		}
		cn := ""
		if pc := c.ConnectionState().PeerCertificates; len(pc) > 0 {
			cn = pc[0].Subject.CommonName
		}
		ch <- cn
		c.Read(make([]byte, 1)) // until the client closes
	}()
	return ln.Addr().String(), ch
}
