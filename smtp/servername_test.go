package smtp

import (
	"context"
	"net"
	"testing"
	"time"
)

// NewClient over an existing connection has no address to take the name
// from: without cfg.TLS.ServerName the certificate's name cannot be checked,
// so the handshake must not start (rather than verify the chain alone and
// accept any certificate the CA ever issued).
func TestNewClientWithoutServerNameRefused(t *testing.T) {
	for _, mode := range []TLSMode{Implicit, StartTLS} {
		t.Run(string(mode), func(t *testing.T) {
			handshook := make(chan bool, 1)
			addr := scripted(t, func(p *peer) {
				if mode == StartTLS {
					p.send("220 hi\r\n")
					p.ehlo("STARTTLS")
					if p.line() != "STARTTLS" {
						return
					}
					p.send("220 go\r\n")
				}
				handshook <- p.tlsServer(pki().Server.TLSCertificate())
			})
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := NewClient(ctx, conn, &Config{Mode: mode, TLS: tlsConfig(), Timeout: 5 * time.Second})
			if err == nil {
				c.Close()
				t.Fatal("NewClient without a server name verified nothing but the chain and went on")
			}
			wantKind(t, err, KindConfig)
			conn.Close()
			if <-handshook {
				t.Error("the TLS handshake completed although no name could be verified")
			}
		})
	}
}
