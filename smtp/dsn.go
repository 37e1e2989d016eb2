package smtp

import (
	"errors"
	"fmt"
	"strings"
)

// DSN asks the server for delivery status notifications (RFC 3461). The
// zero DSN asks for none: the MAIL and RCPT commands then carry no DSN
// parameter, and a server without the extension takes them.
type DSN struct {
	// Return is MAIL's RET= (RFC 3461 section 4.3): "FULL" for the whole
	// message in a failure notification, "HDRS" for its header only, ""
	// to leave it to the server.
	Return string
	// Notify is each recipient's NOTIFY= (RFC 3461 section 4.1): "NEVER",
	// or a comma-separated list of SUCCESS, FAILURE and DELAY, each at
	// most once; "" to leave it to the server. Case does not matter; it
	// is sent in upper case.
	Notify string
}

// IsZero reports whether d asks for nothing.
func (d DSN) IsZero() bool { return d == DSN{} }

// Check reports a DSN that RFC 3461 does not allow, as a KindUsage *Error.
func (d DSN) Check() error {
	switch strings.ToUpper(d.Return) {
	case "", "FULL", "HDRS":
	default:
		return &Error{Kind: KindUsage, Op: "MAIL FROM", Err: fmt.Errorf("invalid DSN return %q", d.Return),
			Fix: "ask for FULL (the whole message) or HDRS (its header) in failure notifications (RFC 3461 section 4.3)"}
	}
	if d.Notify == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, v := range strings.Split(strings.ToUpper(d.Notify), ",") {
		switch v {
		case "NEVER", "SUCCESS", "FAILURE", "DELAY":
			if !seen[v] {
				seen[v] = true
				continue
			}
		}
		return &Error{Kind: KindUsage, Op: "RCPT TO", Err: fmt.Errorf("invalid DSN notify %q", d.Notify),
			Fix: "give NEVER, or some of SUCCESS, FAILURE and DELAY separated by commas (RFC 3461 section 4.1)"}
	}
	if seen["NEVER"] && len(seen) > 1 {
		return &Error{Kind: KindUsage, Op: "RCPT TO", Err: fmt.Errorf("invalid DSN notify %q: NEVER goes alone", d.Notify),
			Fix: "give NEVER alone, or some of SUCCESS, FAILURE and DELAY (RFC 3461 section 4.1)"}
	}
	return nil
}

// errNoDSN is a DSN request to a server that does not offer the
// extension. msmtp refuses to send then (exit 69, EX_UNAVAILABLE), rather
// than send a message whose sender asked to hear of its fate and will not.
var errNoDSN = errors.New("delivery status notifications (DSN, RFC 3461) were asked for and the server does not offer them")

// mailParam is MAIL's DSN parameter (" RET=..."), "" for none.
func (d DSN) mailParam() string {
	if d.Return == "" {
		return ""
	}
	return " RET=" + strings.ToUpper(d.Return)
}

// rcptCommand is the RCPT command for to, with NOTIFY= when d asks.
func (d DSN) rcptCommand(to string) string {
	cmd := "RCPT TO:<" + wirePath(to) + ">"
	if d.Notify != "" {
		cmd += " NOTIFY=" + strings.ToUpper(d.Notify)
	}
	return cmd
}

// errNoDSNError is the error for a DSN request to a server without DSN,
// found at op (EHLO with Config.RequireDSN, else MAIL FROM).
func errNoDSNError(op string) *Error {
	return &Error{Kind: KindUnavailable, Op: op, Err: errNoDSN,
		Fix: "turn off dsn_notify and dsn_return for this server, or send through a server that offers DSN"}
}
