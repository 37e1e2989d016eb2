package submit

import (
	"net"
	"strconv"
	"strings"

	"github.com/tlsmail/tlsmail/smtp"
)

// ParseServer reads a server as a person writes it: HOST, HOST:PORT,
// [IPv6]:PORT, [IPv6] or a bare IPv6 address, into an Account's Host and
// Port. A missing port is the submission port of mode: 465 for implicit
// TLS (RFC 8314 section 3.3), else 587 (RFC 6409). A refused form is an
// *Error of Field "server" whose Msg says why, without the input (the
// caller names the setting it came from).
func ParseServer(s string, mode smtp.TLSMode) (host string, port int, err error) {
	bad := func(why string) (string, int, error) {
		return "", 0, &Error{Field: "server", Msg: why,
			Fix: "give HOST or HOST:PORT, e.g. smtp.example.com:587 or [2001:db8::1]:465"}
	}
	p := "587"
	if mode == smtp.Implicit {
		p = "465"
	}
	if strings.ContainsAny(s, " \t\r\n/@") {
		return bad("not a host name")
	}
	switch {
	case net.ParseIP(s) != nil: // a bare IPv4 or IPv6 address
		host = s
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		host = s[1 : len(s)-1]
	case strings.Contains(s, ":"):
		if host, p, err = net.SplitHostPort(s); err != nil {
			return bad(err.Error())
		}
	default:
		host = s
	}
	if host == "" {
		return bad("the host is empty")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return bad("the port must be a number from 1 to 65535")
	}
	return host, n, nil
}
