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
		// The text of an error is not read: a TLS-level error that only
		// mentions EOF or a reset is the provider's to word.
		{"EOF in a name", live, errors.New(`x509: certificate is valid for EOF.example.com, not mail.example.com`), ""},
		{"reset in a text", live, errors.New("remote error: tls: session reset by peer policy"), ""},
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

	// The socket's deadline (set to the context's) fired before the
	// context's own timer: ctx.Err() is still nil, but the deadline has
	// passed, so the handshake ran out of the context's time. Under Wine
	// the schannel provider saw this race (TestConformance/stalled-handshake).
	lagging := laggingCtx{Context: live, deadline: time.Now().Add(-time.Millisecond)}
	he, ok := TransportError(lagging, "p", timeout)
	if !ok || !errors.Is(he, context.DeadlineExceeded) || !errors.Is(he, timeout) {
		t.Errorf("timeout at the context's deadline before its timer fired: %v, %v; want it to wrap context.DeadlineExceeded", he, ok)
	}
	early := laggingCtx{Context: live, deadline: time.Now().Add(time.Hour)}
	if he, _ := TransportError(early, "p", timeout); errors.Is(he, context.DeadlineExceeded) || he.Reason != timedOut {
		t.Errorf("a socket timeout well before the context's deadline: %v; want %q", he, timedOut)
	}
}

// laggingCtx has a deadline but reports no error yet, as a context does
// between its deadline and the firing of its timer.
type laggingCtx struct {
	context.Context
	deadline time.Time
}

func (c laggingCtx) Deadline() (time.Time, bool) { return c.deadline, true }
