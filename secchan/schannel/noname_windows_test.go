package schannel

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
)

// TestNoServerNameRefused: as with the crypto/tls provider, a Config that
// names no server is refused before any credential or handshake, unless
// Insecure is set.
func TestNoServerNameRefused(t *testing.T) {
	for _, cfg := range []*secchan.Config{nil, {}} {
		a, b := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Provider{}.Client(ctx, a, cfg)
		cancel()
		b.Close()
		if !errors.Is(err, secchan.ErrNoServerName) {
			t.Errorf("Client(%+v): %v, want ErrNoServerName", cfg, err)
		}
	}
}
