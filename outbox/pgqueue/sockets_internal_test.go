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
// that abandon can shut it; shutdown closes every socket open but a held
// one not abandoned (a live connection's), ends a dial under way, and
// refuses new dials.
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
	// A socket pgx made a connection over (hold) is left to pgx by
	// shutdown, until abandoned; c is a cancel request's: shut.
	held, err := dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.hold(nil)(context.Background(), nil, held); err != nil {
		t.Fatal(err)
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
		if !errors.Is(err, ErrClosed) {
			t.Errorf("the dial under way at shutdown = %v; want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dial under way did not end at shutdown")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("reading the socket after shutdown = %v; want net.ErrClosed", err)
	}
	if _, err := dial(context.Background(), "tcp", l.Addr().String()); !errors.Is(err, ErrClosed) {
		t.Errorf("a dial after shutdown = %v; want ErrClosed", err)
	}
	held.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := held.Read(make([]byte, 1)); errors.Is(err, net.ErrClosed) {
		t.Errorf("shutdown shut a held socket (a live connection's)")
	}
	if n := len(s.open); n != 1 {
		t.Errorf("%d sockets in the set after shutdown; want the held one", n)
	}
	held.(*socket).abandoned = true
	s.shutdown()
	if n := len(s.open); n != 0 {
		t.Errorf("%d sockets still in the set after shutdown with the held one abandoned; want none", n)
	}
}
