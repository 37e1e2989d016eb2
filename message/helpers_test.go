package message

import (
	"bytes"
	"testing"
)

// checkWire asserts what every message this package writes must satisfy on
// the wire: CRLF line ends only (no bare CR or LF, RFC 5321 section 2.3.8),
// lines no longer than 998 octets (RFC 5322 section 2.1.1), and, unless
// allow8bit, 7-bit ASCII throughout.
func checkWire(t *testing.T, b []byte, allow8bit bool) {
	t.Helper()
	line, lineNo := 0, 1
	for i, c := range b {
		switch {
		case c == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				t.Fatalf("line %d: bare CR at byte %d", lineNo, i)
			}
		case c == '\n':
			if i == 0 || b[i-1] != '\r' {
				t.Fatalf("line %d: bare LF at byte %d", lineNo, i)
			}
			line = 0
			lineNo++
		default:
			line++
			if line > maxLineLen {
				t.Fatalf("line %d longer than %d octets", lineNo, maxLineLen)
			}
			if c >= 0x80 && !allow8bit {
				t.Fatalf("line %d: 8-bit byte 0x%02x at %d in a 7-bit message", lineNo, c, i)
			}
		}
	}
}

// headerSection returns the bytes before the first empty line.
func headerSection(b []byte) []byte {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return b
	}
	return b[:i+2]
}
