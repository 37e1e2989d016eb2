package secchantest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// ioTimeout bounds every network read and write in the suite's servers, so
// that a provider that stops talking fails the test instead of hanging it.
const ioTimeout = 30 * time.Second

// Handler serves one accepted connection. raw is the TCP connection, with a
// deadline already set; the handler usually wraps it with tls.Server.
type Handler func(raw net.Conn) error

// Server is a loopback listener that serves exactly one connection.
type Server struct {
	// Addr is the "127.0.0.1:port" to dial.
	Addr string
	ln   net.Listener
	done chan error
}

// Serve starts a one-connection server on 127.0.0.1 that runs h. The
// listener is closed when the test ends.
func Serve(t testing.TB, h Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, done: make(chan error, 1)}
	go func() {
		raw, err := ln.Accept()
		ln.Close()
		if err != nil {
			s.done <- fmt.Errorf("accept: %w", err)
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(ioTimeout))
		s.done <- h(raw)
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// Wait returns the handler's result. It gives up (with an error) if the
// handler is still running after the I/O timeout, which means a provider
// left the server waiting for bytes that never came.
func (s *Server) Wait() error {
	select {
	case err := <-s.done:
		return err
	case <-time.After(2 * ioTimeout):
		return errors.New("the server handler did not finish")
	}
}

// ServerConfig returns a crypto/tls server configuration presenting cert.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// ClientConfig returns the client configuration the suite uses: the
// fixtures' root as the only trusted CA (the --ca path, verified by package
// trust for every provider), ServerName "localhost", revocation off (the
// fixtures have no revocation URLs and the tests have no network).
func (f *Fixtures) ClientConfig() *secchan.Config {
	cfg := &secchan.Config{ServerName: ServerName}
	cfg.Trust.Roots = f.Roots()
	cfg.Trust.Revocation = trust.RevocationOff
	return cfg
}

// Dial connects to addr and runs p's handshake under ctx.
func Dial(ctx context.Context, p secchan.Provider, addr string, cfg *secchan.Config) (secchan.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return p.Client(ctx, raw, cfg)
}

// DripConn writes everything one byte per TCP write, so that the peer
// receives TLS records (handshake ones included) in the smallest pieces.
type DripConn struct{ net.Conn }

func (c DripConn) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := c.Conn.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// CoalesceConn holds back what is written until Flush or the next Read, so
// that several TLS flights (the end of the handshake and the first
// application data, for instance) leave in a single TCP write.
type CoalesceConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *CoalesceConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *CoalesceConn) Read(p []byte) (int, error) {
	if err := c.Flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Flush sends what is held back in one write.
func (c *CoalesceConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf.Bytes())
	c.buf.Reset()
	return err
}

// recordConn keeps every byte read, to look at the TLS records afterwards.
type recordConn struct {
	net.Conn
	in []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in = append(c.in, p[:n]...)
	return n, err
}

// lastRecordType returns the content type of the last complete TLS record
// read (RFC 8446 section 5.1), or -1.
func (c *recordConn) lastRecordType() int {
	typ := -1
	for b := c.in; len(b) >= 5; {
		n := 5 + (int(b[3])<<8 | int(b[4]))
		if len(b) < n {
			break
		}
		typ = int(b[0])
		b = b[n:]
	}
	return typ
}
