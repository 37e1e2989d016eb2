//go:build windows

package schannel_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// Example runs implicit TLS (port 465) with Schannel, the client
// certificate taken from the user's Personal store.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", "mail.example.org:465")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := schannel.Provider{ClientCert: &schannel.StoreCert{Store: "MY", Subject: "alice@example.org"}}
	conn, err := p.Client(ctx, raw, &secchan.Config{ServerName: "mail.example.org"})
	if err != nil {
		fmt.Println(err) // a *trust.Error, *secchan.HandshakeError or wraps a *schannel.CertError
		return
	}
	defer conn.Close()
	st := conn.State()
	fmt.Println(secchan.VersionName(st.Version), st.CipherName, st.Verified)
}

// ExampleAddToStore puts a PEM certificate and key into CurrentUser\MY and
// selects it by thumbprint, as --cert-store MY --cert-thumbprint would.
func ExampleAddToStore() {
	cert, err := tls.LoadX509KeyPair("client.pem", "client.key")
	if err != nil {
		fmt.Println(err)
		return
	}
	tp, err := schannel.AddToStore(schannel.StoreCert{Store: "MY"}, cert)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer schannel.RemoveFromStore(schannel.StoreCert{Store: "MY", Thumbprint: tp})
	_ = schannel.Provider{ClientCert: &schannel.StoreCert{Store: "MY", Thumbprint: tp}}
}
