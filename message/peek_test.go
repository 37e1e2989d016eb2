package message

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestPeekFrom: the envelope sender read from the message's From field,
// and the whole message given back unchanged (header and body); a header
// over the limit is an *InputError, not read further into memory; a read
// error is passed on.
func TestPeekFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, msg, from string
	}{
		{"display name", "From: Carol <carol@example.com>\nTo: b@example.org\n\nbody\n", "carol@example.com"},
		{"CRLF, first of two", "To: b@example.org\r\nFrom: a@example.org, c@example.org\r\n\r\nbody\r\n", "a@example.org"},
		{"no From", "To: b@example.org\n\nbody\n", ""},
		{"garbled From", "From: <<<\n\nbody\n", ""},
		{"no body", "From: a@example.org\n", "a@example.org"},
		{"not a header", "just text\n", ""},
	}
	for _, tc := range tests {
		from, rest, err := PeekFrom(strings.NewReader(tc.msg), 1<<20)
		if err != nil || from != tc.from {
			t.Errorf("%s: from %q, %v; want %q", tc.name, from, err, tc.from)
			continue
		}
		if b, _ := io.ReadAll(rest); string(b) != tc.msg {
			t.Errorf("%s: the message given back is %q, want %q", tc.name, b, tc.msg)
		}
	}
	long := "From: a@example.org\nX-Long: " + strings.Repeat("x", 300<<10) + "\n\nbody\n"
	var ie *InputError
	if _, _, err := PeekFrom(strings.NewReader(long), 100<<10); !errors.As(err, &ie) || ie.Field != "header" {
		t.Errorf("a header over the limit: %v", err)
	}
	if _, _, err := PeekFrom(iotest.ErrReader(io.ErrUnexpectedEOF), 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing reader: %v", err)
	}
}

// TestPeekFromLongLineAtBufferBoundary: a header line longer than the
// 64 KiB read buffer whose line ending falls exactly at the buffer's edge
// ("\n" alone, or "\r\n", or "\n" after a "\r" that ended the previous
// read) is the rest of that line, not the empty line that ends the header:
// a From field after it is still found.
func TestPeekFromLongLineAtBufferBoundary(t *testing.T) {
	t.Parallel()
	const buf = 64 << 10
	tests := []struct {
		name string
		// pad is the length of the X-Long field's text, chosen so that the
		// line's ending starts at or straddles the buffer's edge.
		pad int
		eol string
	}{
		{"LF just after the buffer", buf - len("X-Long: "), "\n"},
		{"CRLF just after the buffer", buf - len("X-Long: "), "\r\n"},
		{"CR at the buffer's end, LF after", buf - len("X-Long: ") - 1, "\r\n"},
		{"LF just after twice the buffer", 2*buf - len("X-Long: "), "\n"},
		{"CRLF just after twice the buffer", 2*buf - len("X-Long: "), "\r\n"},
		{"LF inside the buffer (control)", buf - len("X-Long: ") - 2, "\n"},
	}
	for _, tc := range tests {
		msg := "X-Long: " + strings.Repeat("x", tc.pad) + tc.eol + "From: a@example.org" + tc.eol + tc.eol + "body" + tc.eol
		for name, r := range map[string]io.Reader{
			"whole":     strings.NewReader(msg),
			"one-byte":  iotest.OneByteReader(strings.NewReader(msg)),
			"half-read": iotest.HalfReader(strings.NewReader(msg)),
		} {
			from, rest, err := PeekFrom(r, 1<<20)
			if err != nil || from != "a@example.org" {
				t.Errorf("%s, %s: from %q, %v; want a@example.org", tc.name, name, from, err)
				continue
			}
			if b, _ := io.ReadAll(rest); string(b) != msg {
				t.Errorf("%s, %s: the message given back differs (%d bytes, want %d)", tc.name, name, len(b), len(msg))
			}
		}
	}
}
