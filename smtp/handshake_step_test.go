package smtp

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
)

// TestHandshakeHasItsOwnStep: the TLS handshake after STARTTLS is a step of
// its own, bounded by a whole Timeout from its start, and a server that
// never answers the ClientHello is a timeout (KindTimeout, wrapping
// context.DeadlineExceeded). The connection's deadline used to stay the
// one the STARTTLS reply was read under: a reply that took half the
// Timeout left the handshake the other half, and that socket timeout,
// before the handshake's context ended, read as a failed handshake
// (KindTLSHandshake). Half of 4 s each way leaves a loaded machine two
// seconds of slack on both sides.
func TestHandshakeHasItsOwnStep(t *testing.T) {
	t.Parallel()
	const timeout = 4 * time.Second
	release := make(chan struct{})
	replied := make(chan time.Time, 1)
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("STARTTLS")
		p.expect("STARTTLS")
		time.Sleep(timeout / 2) // a slow reply, within the step
		replied <- time.Now()   // before the client can read the reply
		p.send("220 go ahead\r\n")
		<-release // the ClientHello is never answered
	})
	t.Cleanup(func() { close(release) }) // before scripted's cleanup waits for the script
	_, err := dial(t, addr, &Config{Mode: StartTLS, TLS: tlsConfig(), Timeout: timeout})
	ended := time.Now()
	e := wantKind(t, err, KindTimeout)
	if e.Op != "TLS handshake" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("op %q, err %v: want the TLS handshake, wrapping context.DeadlineExceeded", e.Op, err)
	}
	// A lower bound (a deadline cannot fire early), not a speed claim.
	if took := ended.Sub(<-replied); took < timeout {
		t.Errorf("the handshake ended %v after the STARTTLS reply; want its whole step, %v", took, timeout)
	}
}

// TestHandshakeErrorContextEnded: a provider's *secchan.HandshakeError
// that says the context ended the handshake (secchan.TransportError joins
// the context's error) is a timeout, even while ctx.Err() is still nil: the
// socket's deadline, set to the context's, can fire before the context's
// own timer. Other handshake failures stay KindTLSHandshake.
func TestHandshakeErrorContextEnded(t *testing.T) {
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	lagging := laggingCtx{Context: live, deadline: time.Now().Add(-time.Millisecond)}
	sockTimeout := os.ErrDeadlineExceeded
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Kind
	}{
		{"deadline passed, timer not yet fired", lagging,
			&secchan.HandshakeError{Provider: "p", Reason: "timed out", Err: errors.Join(context.DeadlineExceeded, sockTimeout)}, KindTimeout},
		{"cancelled", live,
			&secchan.HandshakeError{Provider: "p", Reason: "cancelled", Err: errors.Join(context.Canceled, os.ErrClosed)}, KindTimeout},
		{"socket timeout well before the deadline", laggingCtx{Context: live, deadline: time.Now().Add(time.Hour)},
			&secchan.HandshakeError{Provider: "p", Reason: "timed out during the handshake", Err: sockTimeout}, KindTLSHandshake},
		{"handshake refused", live,
			&secchan.HandshakeError{Provider: "p", Reason: "the server sent an alert", Err: errors.New("remote error: tls: handshake failure")}, KindTLSHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e := handshakeError(tt.ctx, tt.err); e.Kind != tt.want {
				t.Errorf("handshakeError = %s (%v); want %s", e.Kind, e, tt.want)
			}
		})
	}
}

// laggingCtx has a deadline but reports no error yet, as a context does
// between its deadline and the firing of its timer.
type laggingCtx struct {
	context.Context
	deadline time.Time
}

func (c laggingCtx) Deadline() (time.Time, bool) { return c.deadline, true }
