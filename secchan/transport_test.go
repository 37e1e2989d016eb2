package secchan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestTransportError: the failures of the connection under a handshake
// read from real loopback sockets (a peer that closes, one that resets,
// a read past its deadline) and from a context that ended are classified
// as every provider reports them; a TLS-level error is left to the
// provider.
func TestTransportError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// readErr connects, lets the server side do serve, and returns the
	// error of one read on the client side.
	readErr := func(serve func(*net.TCPConn), deadline time.Time) error {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		serve(s.(*net.TCPConn))
		if deadline.IsZero() {
			deadline = time.Now().Add(30 * time.Second) // does not hang
		}
		c.SetReadDeadline(deadline)
		_, err = c.Read(make([]byte, 1))
		return err
	}
	closed := readErr(func(s *net.TCPConn) { s.Close() }, time.Time{})
	reset := readErr(func(s *net.TCPConn) { s.SetLinger(0); s.Close() }, time.Time{})
	timeout := readErr(func(*net.TCPConn) {}, time.Now().Add(-time.Second))
	if !errors.Is(closed, io.EOF) {
		t.Fatalf("closed: %v, want EOF", closed)
	}

	done, cancel := context.WithCancel(context.Background())
	cancel()
	live := context.Background()
	const (
		timedOut = "timed out during the handshake"
		hungUp   = "the server closed the connection during the handshake"
	)
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		reason string // "" for not a transport error
	}{
		{"peer closed", live, closed, hungUp},
		{"peer reset", live, reset, hungUp},
		{"read deadline", live, timeout, timedOut},
		{"EOF wrapped", live, fmt.Errorf("tls: reading record: %w", io.ErrUnexpectedEOF), hungUp},
		{"closed here", live, net.ErrClosed, hungUp},
		{"context ended", done, closed, "timed out or cancelled during the handshake: context canceled"},
		{"a TLS alert", live, errors.New("remote error: tls: protocol version not supported"), ""},
	}
	for _, tc := range tests {
		he, ok := TransportError(tc.ctx, "p", tc.err)
		if tc.reason == "" {
			if ok || he != nil {
				t.Errorf("%s: classified as %v", tc.name, he)
			}
			continue
		}
		if !ok || he.Reason != tc.reason || he.Fix == "" || he.Provider != "p" || !errors.Is(he, tc.err) {
			t.Errorf("%s (%v): %#v, %v; want reason %q with a fix, wrapping the error", tc.name, tc.err, he, ok, tc.reason)
		}
	}
	if he, _ := TransportError(done, "p", closed); !errors.Is(he, context.Canceled) {
		t.Errorf("the context's error is not wrapped: %v", he)
	}
}
