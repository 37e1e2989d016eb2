package pgqueue

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// TestSockets: a connection dialled through sockets is found under the
// TLS connection pgconn makes over it (sslmode=require and stricter), so
// that abandon can shut it; shutdown closes every socket open, ends a
// dial under way, and refuses new dials.
func TestSockets(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open until the listener closes
		}
	}()
	s := newSockets()
	var d net.Dialer
	blocked := make(chan struct{})
	dial := s.dial(func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "blocked" {
			close(blocked)
			<-ctx.Done() // a SYN to a host that is gone
			return nil, ctx.Err()
		}
		return d.DialContext(ctx, network, addr)
	})
	c, err := dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, &tls.Config{ServerName: "localhost"})
	if sc := socketOf(tc); sc != c {
		t.Fatalf("socketOf(tls.Client(socket)) = %v; want the socket", sc)
	}
	if sc := socketOf(&net.TCPConn{}); sc != nil {
		t.Fatalf("socketOf(a connection not dialled through sockets) = %v; want nil", sc)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := dial(context.Background(), "tcp", "blocked")
		pending <- err
	}()
	<-blocked
	s.shutdown()
	select {
	case err := <-pending:
		if !errors.Is(err, errClosed) {
			t.Errorf("the dial under way at shutdown = %v; want errClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dial under way did not end at shutdown")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("reading the socket after shutdown = %v; want net.ErrClosed", err)
	}
	if _, err := dial(context.Background(), "tcp", l.Addr().String()); !errors.Is(err, errClosed) {
		t.Errorf("a dial after shutdown = %v; want errClosed", err)
	}
	if n := len(s.open); n != 0 {
		t.Errorf("%d sockets still in the set after shutdown", n)
	}
}
