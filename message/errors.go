package message

import (
	"fmt"
	"unicode/utf8"
)

// InputError reports input that cannot become a valid message: a control
// character in a header (the header-injection attempt of RFC 5322 section
// 2.2 and RFC 5321 section 4.1.1.4), an address that does not parse, a
// duplicate structural header, a missing sender. The CLI maps it to a usage
// error (EX_USAGE, 64).
type InputError struct {
	// Field names the offending input: "from", "to[1]", "subject",
	// `header "X-Foo"`, "attachments[0]", "message line 3" and so on.
	Field string
	// Problem says what is wrong with it.
	Problem string
	// Fix says what to do instead.
	Fix string
	// Err is the underlying error, if any (a net/mail parse error, an
	// os.PathError).
	Err error
}

func (e *InputError) Error() string {
	s := "message: " + e.Field + ": " + e.Problem
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// SourceError reports that a body or attachment source could not be read
// while the message was being written (the file was removed, a read
// failed). The message written so far is incomplete and must not be sent.
type SourceError struct {
	// Source is the file path, or a description such as "attachment[2]".
	Source string
	Err    error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("message: reading %s: %v; the message is incomplete, check the file and send again", e.Source, e.Err)
}

// Unwrap returns the underlying error.
func (e *SourceError) Unwrap() error { return e.Err }

// UsedError is returned by WriteTo when a prepared message, whose body is
// streamed from a reader that can be read only once, is written a second
// time.
type UsedError struct{}

func (UsedError) Error() string {
	return "message: the prepared message was already written once and its body reader is consumed; spool it to a file to send it again"
}

// checkLine refuses characters that would break out of a header line or
// that RFC 5322 does not allow in one: CR, LF, NUL, the other C0 controls
// except HTAB, DEL, and invalid UTF-8. It returns nil when s is safe.
func checkLine(field, s string) *InputError {
	for i := 0; i < len(s); i++ {
		c := s[i]
		var what string
		switch {
		case c == '\r':
			what = "a carriage return (CR)"
		case c == '\n':
			what = "a line feed (LF)"
		case c == 0:
			what = "a NUL byte"
		case c == '\t':
			continue
		case c < 0x20 || c == 0x7f:
			what = fmt.Sprintf("the control character 0x%02x", c)
		default:
			continue
		}
		return &InputError{
			Field:   field,
			Problem: fmt.Sprintf("contains %s at byte %d, which could inject header lines", what, i),
			Fix:     "remove line breaks and control characters; a header value is a single line",
		}
	}
	if !utf8.ValidString(s) {
		return &InputError{
			Field:   field,
			Problem: "is not valid UTF-8",
			Fix:     "convert the text to UTF-8",
		}
	}
	return nil
}
