package smtp

import (
	"errors"
	"fmt"
	"strings"
)

// Size limits of RFC 5321 section 4.5.3.1. A server need not accept more,
// and many drop the connection instead of replying when a line is longer,
// so the client checks addresses (Envelope.Check) and the EHLO name before
// it sends anything. Within the path limit, a MAIL or RCPT command with
// every parameter this client sends stays under MaxCommandLineLen.
const (
	MaxLocalPartLen   = 64  // section 4.5.3.1.1, octets
	MaxDomainLen      = 255 // section 4.5.3.1.2, octets
	MaxPathLen        = 256 // section 4.5.3.1.3, octets, the angle brackets included
	MaxCommandLineLen = 512 // section 4.5.3.1.4, octets, the command word and CRLF included
)

// LimitError reports an address or command line longer than RFC 5321
// section 4.5.3.1 allows. It is the Err of an *Error of KindUsage.
type LimitError struct {
	// What is "local part", "domain", "path" or "command line".
	What string
	// Value is the offending address (or command), shortened for display.
	Value string
	Len   int
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the %s of %s is %d octets long; RFC 5321 section 4.5.3.1 allows at most %d", e.What, e.Value, e.Len, e.Max)
}

// shorten returns s quoted, or its start when it is too long to show.
func shorten(s string) string {
	if len(s) <= 80 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:60])
}

// checkPath checks one reverse- or forward-path (the address without its
// angle brackets) against the limits of section 4.5.3.1: local part,
// domain and path. An address without "@" (RCPT TO:<Postmaster>,
// section 4.1.1.3) is a local part alone.
func checkPath(addr string) *LimitError {
	if n := len(addr) + 2; n > MaxPathLen {
		return &LimitError{What: "path", Value: shorten(addr), Len: n, Max: MaxPathLen}
	}
	local, domain := addr, ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	if len(local) > MaxLocalPartLen {
		return &LimitError{What: "local part", Value: shorten(addr), Len: len(local), Max: MaxLocalPartLen}
	}
	if len(domain) > MaxDomainLen {
		return &LimitError{What: "domain", Value: shorten(addr), Len: len(domain), Max: MaxDomainLen}
	}
	return nil
}

// Check reports whether env can be sent as it is: at least one recipient,
// no CR, LF, NUL or angle bracket in an address (they would end or break
// the command line, RFC 5321 section 4.1.1.4), and every address within
// the size limits of section 4.5.3.1, and a DSN request RFC 3461 allows.
// The error is an *Error of KindUsage; for a size limit, its Err is a
// *LimitError. Send checks env the same way, so calling Check first only
// lets a caller find the problem before it connects.
func (env Envelope) Check() error {
	if len(env.To) == 0 {
		return &Error{Kind: KindUsage, Op: "RCPT TO", Err: errors.New("no recipients"),
			Fix: "give at least one recipient"}
	}
	for i, a := range append([]string{env.From}, env.To...) {
		op := "MAIL FROM"
		if i > 0 {
			op = "RCPT TO"
		}
		if strings.ContainsAny(a, "\r\n<>\x00") {
			return &Error{Kind: KindUsage, Op: op, Err: fmt.Errorf("invalid address %s", shorten(a)),
				Fix: "addresses may not contain CR, LF, NUL, < or >"}
		}
		if le := checkPath(a); le != nil {
			return &Error{Kind: KindUsage, Op: op, Err: le,
				Fix: "use a shorter address: SMTP servers may refuse or drop longer ones; nothing was sent"}
		}
	}
	return env.DSN.Check()
}
