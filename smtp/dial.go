package smtp

import (
	"context"
	"net"
	"strings"
)

// DialTCP opens a session's TCP connection when Config.DialContext is nil:
// as net.Dialer does, except that a name under the special-use domain
// "invalid" fails at once as not found, without a DNS query (RFC 6761
// section 6.4). Such a name then gets the same answer on every machine,
// where a resolver that forwards it might time out, or answer.
func DialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err == nil {
		h := strings.ToLower(strings.TrimSuffix(host, "."))
		if h == "invalid" || strings.HasSuffix(h, ".invalid") {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{
				Err: "no such host (the .invalid domain never exists, RFC 6761)", Name: host, IsNotFound: true}}
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
