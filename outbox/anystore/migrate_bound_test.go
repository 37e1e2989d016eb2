package anystore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestMigrateConnectBounded: `queue init` against a database host that
// accepts the connection and never answers (a host that vanished behind a
// NAT, a half-open route) fails as unavailable once the connect bound
// passes (a second here, a minute in Migrate), as the queue's other
// commands do. Before, it waited for ever.
func TestMigrateConnectBounded(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	defer func() {
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := migrate(context.Background(), "postgres://u@"+l.Addr().String()+"/db?sslmode=disable", time.Second)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, pgqueue.ErrUnavailable) {
			t.Fatalf("migrate: %v; want the database unavailable", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrate against a silent host did not return within 30 s (its connect bound is 1 s)")
	}
}
