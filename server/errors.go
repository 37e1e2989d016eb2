package server

import (
	"errors"
	"strings"
)

// Error is a failure to start or run the server: what was being done, the
// cause, and what to do about it. errors.As finds it; Unwrap reaches the
// cause (a *net.OpError, an *fs.PathError, ...).
type Error struct {
	// Op is the step that failed: "config", "start", "listen", "pki", "dir",
	// "messages", "wait".
	Op string
	// Addr is the listen address, for Op "listen".
	Addr string
	Err  error
	// Fix says what to do.
	Fix string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("server: ")
	b.WriteString(e.Op)
	if e.Addr != "" {
		b.WriteString(" ")
		b.WriteString(e.Addr)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString(" (")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrClosed is returned (wrapped in an *Error) by Wait and Messages after
// Close when the answer can no longer come.
var ErrClosed = errors.New("server closed")

var (
	errNoListener     = errors.New("no listen address")
	errRequireNoCAs   = errors.New("RequireClientCert without ClientCAs")
	errBadCertificate = errors.New("Certificate has no certificate or no private key")
	errTLSVersions    = errors.New("MaxTLSVersion is below MinTLSVersion")
	errEmptyUser      = errors.New("empty user name in Users")
)
