package smtp

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// implicitTLSListener is a real TLS server on a loopback port that is not
// 465: it waits for a ClientHello, as an implicit-TLS port does, and closes
// the connection when hangUp is closed (never, when it is nil).
func implicitTLSListener(t *testing.T, hangUp <-chan struct{}) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki().Server.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					select {
					case <-hangUp:
						c.Close()
					case <-stop:
					}
				}()
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestSilentGreetingImplicitTLSPort: a STARTTLS session against a port
// that expects implicit TLS hears nothing. The caller is told while it
// waits (OnSilentGreeting), and the error — whether the server gives up
// and closes first ("greeting: EOF" with a generic fix before) or the
// timeout passes — is a *SilentGreetingError naming implicit TLS.
//
// The server that gives up hangs up when the client has been told, half
// way to its timeout: a server timer of its own (3 s against the client's
// 4 s) left a loaded machine one second to get the close through.
func TestSilentGreetingImplicitTLSPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hangsUp bool // the server closes once the client has been told
		timeout time.Duration
		kind    Kind
		closed  bool
	}{
		{"server closes first", true, 6 * time.Second, KindNetwork, true},
		{"client times out", false, time.Second, KindTimeout, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hangUp chan struct{}
			if tc.hangsUp {
				hangUp = make(chan struct{})
			}
			addr := implicitTLSListener(t, hangUp)
			var notices atomic.Int32
			_, err := dial(t, addr, &Config{Mode: StartTLS, TLS: tlsConfig(), Timeout: tc.timeout,
				OnSilentGreeting: func(time.Duration) {
					if notices.Add(1) == 1 && hangUp != nil {
						close(hangUp)
					}
				}})
			e := wantKind(t, err, tc.kind)
			var se *SilentGreetingError
			if !errors.As(err, &se) || se.Closed != tc.closed {
				t.Fatalf("err = %v, want a *SilentGreetingError (closed: %v)", err, tc.closed)
			}
			if e.Op != "greeting" || !strings.Contains(e.Fix, "implicit TLS") {
				t.Errorf("op %q, fix %q: want the greeting and a fix naming implicit TLS", e.Op, e.Fix)
			}
			if n := notices.Load(); n != 1 {
				t.Errorf("OnSilentGreeting called %d times, want once", n)
			}
		})
	}
}

// TestGreetingNotSilent: a server that closes at once, or greets after a
// short pause, is not taken for a silent one.
func TestGreetingNotSilent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	var notices atomic.Int32
	_, err = dial(t, ln.Addr().String(), &Config{Mode: StartTLS, TLS: tlsConfig(), Timeout: 4 * time.Second,
		OnSilentGreeting: func(time.Duration) { notices.Add(1) }})
	var se *SilentGreetingError
	if errors.As(err, &se) || notices.Load() != 0 {
		t.Errorf("a connection closed at once: err = %v, %d notices; want neither a silent greeting", err, notices.Load())
	}

	addr := scripted(t, func(p *peer) {
		time.Sleep(200 * time.Millisecond)
		p.send("220 hi\r\n")
		p.ehlo()
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, OnSilentGreeting: func(time.Duration) { notices.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	c.Quit(t.Context())
	if notices.Load() != 0 {
		t.Error("OnSilentGreeting called for a server that greeted after 200 ms")
	}
}
