package downgrade

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzHeader: whatever the header, Header does not panic, and what it
// returns without error is 7-bit with lines of at most MaxLine wherever
// it rewrote a field (ASCII fields pass through as they were).
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"Subject: Grüße\r\n\r\n",
		"From: Jörg <j@x.org>, \"Ä, B\" <b@x>\r\nTo: G: a@b, 用户@例子.广告;\r\n\r\nbody",
		"Content-Type: text/plain; name=\"é.txt\"\r\nX: \xff\xfe\r\n",
		"Subject: é\r\n continued ü\r\n\tmore\r\n\r\n",
		"To: (é comment) <a@b>\r\n",
		"Message-ID: <ü@x>\r\nReferences: <a@b> <é@c>\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Header(in)
		if err != nil {
			return
		}
		if isASCII(in[:headerEnd(in)]) {
			return
		}
		for _, l := range strings.SplitAfter(string(out[:headerEnd(out)]), "\n") {
			if !isASCII([]byte(l)) {
				t.Fatalf("8-bit line in the output: %q", l)
			}
			if len(strings.TrimRight(l, "\r\n")) > MaxLine && !bytes.Contains(in, []byte(strings.TrimRight(l, "\r\n"))) {
				t.Fatalf("a rewritten line of %d characters", len(l))
			}
		}
	})
}

// headerEnd is where the header block of b ends: at its first empty line
// (LF or CRLF), or at the end.
func headerEnd(b []byte) int {
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
		}
		if line := b[off : off+i]; len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return off
		}
		off += i + 1
	}
	return len(b)
}
