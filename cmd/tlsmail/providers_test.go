package main

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/tlsmail/tlsmail/secchan"
)

// idleProvider records CloseIdleCredentials, as schannel.Provider from
// NewProvider offers it.
type idleProvider struct{ closed *int }

func (idleProvider) Name() string { return "idle-test" }
func (idleProvider) Client(context.Context, net.Conn, *secchan.Config) (secchan.Conn, error) {
	return nil, net.ErrClosed
}
func (p idleProvider) CloseIdleCredentials() { *p.closed++ }

// TestRunClosesIdleCredentials: when a command ends, run frees what the
// providers keep between connections (Schannel's shared credentials, and a
// client key in a key container with one), on success and on failure.
func TestRunClosesIdleCredentials(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"no-such-command"}} {
		closed := 0
		r := newProviders()
		r.Register(idleProvider{closed: &closed})
		var out, errb bytes.Buffer
		run(context.Background(), args, &env{stdout: &out, stderr: &errb, providers: r})
		if closed != 1 {
			t.Errorf("tlsmail %v: CloseIdleCredentials called %d times, want 1", args, closed)
		}
	}
}
