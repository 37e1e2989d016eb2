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
