package smtp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDialInvalidName: with no DialContext, a server under the special-use
// domain "invalid" (RFC 6761 section 6.4) is not found at once, with no
// DNS query: the same host-not-found error (and fix) on every machine, for
// library users as for the CLI.
func TestDialInvalidName(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"no-such-host.invalid", "MX.Example.INVALID.", "invalid"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := Dial(ctx, net.JoinHostPort(host, "25"), &Config{Mode: StartTLS})
		cancel()
		var se *Error
		if !errors.As(err, &se) || !se.HostNotFound() || !strings.Contains(se.Fix, "does not resolve") {
			t.Errorf("%s: %v, want a host-not-found *Error", host, err)
			continue
		}
		var de *net.DNSError
		if !errors.As(err, &de) || !strings.Contains(de.Err, "RFC 6761") {
			t.Errorf("%s: %v: the resolver was asked", host, err)
		}
	}
	// Other names still go to the dialer: a closed port on loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(context.Background(), addr, &Config{Mode: StartTLS, Timeout: 10 * time.Second}); err == nil {
		t.Errorf("%s (closed) dialled", addr)
	} else if se := (*Error)(nil); errors.As(err, &se) && se.HostNotFound() {
		t.Errorf("%s: %v is host not found", addr, err)
	}
}
