package secchan

import (
	"context"
	"net"
	"os"
	"testing"
)

// nativeText is an error with the text the operating system gives (as on
// native Windows: "An existing connection was forcibly closed by the remote
// host", which Wine words "Connection reset by peer") that wraps err.
type nativeText struct {
	msg string
	err error
}

func (e nativeText) Error() string { return e.msg }
func (e nativeText) Unwrap() error { return e.err }

// TestTransportErrorResetByCode: a connection the server reset or aborted
// is classified by its error code, not by the words of its message: native
// Windows says "forcibly closed by the remote host" for WSAECONNRESET, and
// matching "reset by peer" (Wine's and Linux's words) left a reset under
// the handshake unexplained there, for both providers. The errors are
// built as net.Conn returns them, with Windows' wording around this
// platform's codes.
func TestTransportErrorResetByCode(t *testing.T) {
	for _, code := range connResetCodes() {
		err := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("wsarecv",
			nativeText{msg: "An existing connection was forcibly closed by the remote host.", err: code})}
		he, ok := TransportError(context.Background(), "p", err)
		if !ok || he.Reason != "the server closed the connection during the handshake" {
			t.Errorf("code %d (%v): %v, %v; want the server closed the connection", code, err, he, ok)
		}
	}
	if len(connResetCodes()) == 0 {
		t.Error("no reset codes for this platform")
	}
}
