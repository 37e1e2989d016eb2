package secchan

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// TransportError classifies err, a failure of a handshake of provider
// (the provider's Name), when it is a failure of the connection beneath
// the handshake rather than of TLS: ctx ended (its deadline or a cancel),
// a read or write timed out, or the server closed or reset the connection.
// It returns the HandshakeError every provider reports for it, with the
// same Reason and Fix whichever provider ran, and ok false for any other
// error, which the provider describes itself (a TLS alert, a Windows
// status).
//
// A server that hangs up in the middle of the handshake most often does
// so because it has no TLS version or cipher in common with the client,
// or wants a client certificate; the Fix says so.
func TransportError(ctx context.Context, provider string, err error) (he *HandshakeError, ok bool) {
	he = &HandshakeError{Provider: provider, Err: err}
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch ended := contextEnded(ctx, timeout); {
	case ended != nil:
		he.Reason = "timed out or cancelled during the handshake: " + ended.Error()
		he.Fix = "check that the server speaks TLS on this port, or allow a longer timeout"
		he.Err = errors.Join(ended, err)
	case timeout:
		he.Reason = "timed out during the handshake"
		he.Fix = "check that the server speaks TLS on this port, or allow a longer timeout"
	case closedByPeer(err):
		he.Reason = "the server closed the connection during the handshake"
		he.Fix = "the server may not support TLS 1.2 or later, or may require a client certificate; find out which TLS versions the server accepts"
	default:
		return nil, false
	}
	return he, true
}

// contextEnded returns ctx's error, or context.DeadlineExceeded for a
// socket timeout at or after ctx's deadline: providers set the socket's
// deadline to ctx's, and its timer may fire before the context's own, so
// that ctx.Err() is still nil when the read returns.
func contextEnded(ctx context.Context, timeout bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && timeout && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// closedByPeer reports whether err says the connection ended under the
// handshake: the end of the stream (io.EOF, or io.ErrUnexpectedEOF inside a
// record), a closed connection, or a reset or aborted one (by its code:
// native Windows words WSAECONNRESET "forcibly closed by the remote host",
// Linux and Wine "reset by peer"). It goes by errors.Is alone: crypto/tls
// returns the read error itself, and the Schannel provider wraps it with
// %w, so no error needs its text read, and a TLS-level error whose text
// merely contains "EOF" (a certificate's name, say) is not taken for a
// closed connection.
func closedByPeer(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, code := range connResetCodes() {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}
