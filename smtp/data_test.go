package smtp

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

func TestDotWriter(t *testing.T) {
	tests := []struct{ in, out string }{
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{"a", "a\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"a\r\n.b\r\n..\r\n", "a\r\n..b\r\n...\r\n.\r\n"},
		{"bare\nlf\n.dot\n", "bare\r\nlf\r\n..dot\r\n.\r\n"},
		{"mid.dot\r\n", "mid.dot\r\n.\r\n"},
		{"cr only\r", "cr only\r\n.\r\n"},
		{"a\r\n\r\n.", "a\r\n\r\n..\r\n.\r\n"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var out bytes.Buffer
			dw := newDotWriter(&out)
			var r io.Reader = bytes.NewReader([]byte(tt.in))
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			if _, err := io.Copy(dw, r); err != nil {
				t.Fatal(err)
			}
			if err := dw.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.out {
				t.Errorf("%q (one byte: %v): got %q, want %q", tt.in, oneByte, out.String(), tt.out)
			}
			if dw.n != int64(out.Len()) {
				t.Errorf("%q: counted %d bytes, wrote %d", tt.in, dw.n, out.Len())
			}
		}
	}
}

func BenchmarkDotWriter(b *testing.B) {
	line := []byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n")
	chunk := bytes.Repeat(line, 32*1024/len(line))
	chunk = append(chunk, []byte(".dot at start\r\n")...)
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	dw := newDotWriter(io.Discard)
	for i := 0; i < b.N; i++ {
		dw.Write(chunk)
	}
}
