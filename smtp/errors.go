package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// Kind classifies an Error. The values are stable: they are the JSON
// error.kind of the CLI.
type Kind string

const (
	KindUsage               Kind = "usage"                // the caller passed something unusable (CR/LF in an address)
	KindConfig              Kind = "config"               // the Config cannot work (e.g. a password over plaintext)
	KindNetwork             Kind = "network"              // connect, read or write failed
	KindTimeout             Kind = "timeout"              // a deadline passed
	KindStartTLSUnavailable Kind = "starttls-unavailable" // STARTTLS required but not offered
	KindStartTLSInjection   Kind = "starttls-injection"   // bytes after the 220 to STARTTLS (CVE-2011-0411 class)
	KindTLSHandshake        Kind = "tls-handshake"        // the handshake failed (not the trust verdict)
	KindCertificate         Kind = "certificate"          // the server's chain failed verification
	KindAuth                Kind = "auth"                 // authentication refused or impossible
	KindRejected            Kind = "rejected"             // the server refused the message (4xx/5xx)
	KindUnavailable         Kind = "unavailable"          // the server refused service (greeting or EHLO 5xx)
	KindProtocol            Kind = "protocol"             // the server broke the protocol
)

// Error is a failed SMTP session step. errors.As finds it; Unwrap reaches
// the cause (a *trust.Error, a *secchan.HandshakeError, a net.Error, ...).
type Error struct {
	Kind Kind
	// Op is the step that failed: "connect", "greeting", "EHLO",
	// "STARTTLS", "TLS handshake", "AUTH", "MAIL FROM", "RCPT TO", "DATA",
	// "end of data".
	Op string
	// Reply is the server's reply, when the failure is one.
	Reply *Reply
	// Fix says what to do about it.
	Fix string
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Reply != nil && e.Err != nil:
		fmt.Fprintf(&b, "%v: server said %q", e.Err, e.Reply.String())
	case e.Reply != nil:
		fmt.Fprintf(&b, "server said %q", e.Reply.String())
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(string(e.Kind))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: 4xx replies,
// network trouble, timeouts, TLS failures and a server that broke the
// protocol (garbled replies, STARTTLS injection), as Postfix defers them.
// Only a refusal (5xx), or a problem on the caller's side, is permanent.
func (e *Error) Temporary() bool {
	switch e.Kind {
	case KindNetwork, KindTimeout, KindTLSHandshake, KindCertificate, KindStartTLSUnavailable,
		KindProtocol, KindStartTLSInjection:
		return true
	case KindRejected, KindUnavailable, KindAuth:
		return e.Reply != nil && e.Reply.Code/100 == 4
	}
	return false
}

// HostNotFound reports whether the server's name did not resolve.
func (e *Error) HostNotFound() bool {
	var de *net.DNSError
	return errors.As(e.Err, &de) && de.IsNotFound
}

// SilentGreetingError is the cause (Error.Err) of a plaintext session whose
// greeting never came because the server sent nothing at all: it closed the
// connection (Closed) or let the timeout pass after Waited. A port that
// expects implicit TLS (RFC 8314) behaves exactly so, waiting for the
// client's TLS handshake, which is the likely reason. The Error's Kind stays
// KindNetwork or KindTimeout.
type SilentGreetingError struct {
	Waited time.Duration
	Closed bool
	Err    error
}

func (e *SilentGreetingError) Error() string {
	what := "and then closed the connection"
	if !e.Closed {
		what = "before the timeout"
	}
	return fmt.Sprintf("the server sent nothing in %v %s (%v); a port that expects implicit TLS waits like this for the TLS handshake", e.Waited, what, e.Err)
}

func (e *SilentGreetingError) Unwrap() error { return e.Err }

// RecipientError is one recipient the server refused while others may have
// been accepted.
type RecipientError struct {
	Addr  string `json:"address"`
	Reply Reply  `json:"reply"`
}

func (e *RecipientError) Error() string {
	return fmt.Sprintf("recipient %s refused: %s", e.Addr, e.Reply.String())
}

// ioError turns a read/write failure into an Error, a timeout when a
// deadline passed.
func ioError(ctx context.Context, op string, err error) *Error {
	var ne net.Error
	if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		cause := err
		if ctx.Err() != nil {
			cause = errors.Join(ctx.Err(), err)
		}
		return &Error{Kind: KindTimeout, Op: op, Err: cause,
			Fix: "the server did not answer in time; check the server and port, or allow a longer timeout"}
	}
	if errors.Is(err, errLineTooLong) || errors.Is(err, errTooManyLines) || errors.Is(err, errMalformed) {
		return &Error{Kind: KindProtocol, Op: op, Err: err,
			Fix: "the server sent something that is not an SMTP reply; check that this port speaks SMTP, and the TLS mode (STARTTLS or implicit TLS)"}
	}
	return &Error{Kind: KindNetwork, Op: op, Err: err,
		Fix: "the connection failed; check the server name, port and firewall, then try again"}
}

// handshakeError classifies a provider failure.
func handshakeError(ctx context.Context, err error) *Error {
	var te *trust.Error
	if errors.As(err, &te) {
		return &Error{Kind: KindCertificate, Op: "TLS handshake", Err: err, Fix: te.Fix()}
	}
	var he *secchan.HandshakeError
	if errors.As(err, &he) {
		// The provider says when the context ended the handshake
		// (secchan.TransportError): its socket deadline, the context's,
		// can fire before the context's own timer, while ctx.Err() is
		// still nil.
		if ctx.Err() != nil || errors.Is(he, context.DeadlineExceeded) || errors.Is(he, context.Canceled) {
			return &Error{Kind: KindTimeout, Op: "TLS handshake", Err: err, Fix: he.Fix}
		}
		return &Error{Kind: KindTLSHandshake, Op: "TLS handshake", Err: err, Fix: he.Fix}
	}
	e := ioError(ctx, "TLS handshake", err)
	if e.Kind == KindNetwork {
		e.Kind = KindTLSHandshake
	}
	return e
}

// replyError turns an unexpected reply into an Error.
func replyError(op string, r *Reply, kind Kind) *Error {
	e := &Error{Kind: kind, Op: op, Reply: r}
	switch {
	case r.Code == 530 && strings.Contains(strings.ToUpper(r.Text()), "STARTTLS"):
		e.Kind = KindStartTLSUnavailable
		e.Fix = "the server requires TLS first: use STARTTLS (ports 25 and 587) or implicit TLS (port 465)"
	case r.Code == 530 || r.Code == 535 || r.Code == 534 || r.Code == 538 || r.Enhanced == "5.7.0" && op == "AUTH":
		if kind == KindAuth || r.Code == 535 {
			e.Kind = KindAuth
			e.Fix = "check the user name and password (or token); some providers need an app password"
		} else {
			e.Kind = KindAuth
			e.Fix = "the server requires authentication: give a user name and a password (or token)"
		}
	case r.Code == 552 || r.Enhanced == "5.3.4":
		e.Fix = "the message is larger than the server accepts; send a smaller message or link to the attachment"
	case r.Code == 421:
		e.Fix = "the server is closing the connection; try again later"
	case r.Code/100 == 4:
		e.Fix = "a temporary failure; try again later (the server said why above)"
	case kind == KindRejected:
		e.Fix = "the server refused the message permanently; read its reply above"
	default:
		e.Fix = "read the server's reply above"
	}
	return e
}
