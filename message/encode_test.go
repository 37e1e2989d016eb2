package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// TestBase64Stream checks the streaming encoder against encoding/base64 for
// sizes around line and batch boundaries, read in awkward chunks, and that
// base64Len predicts its output exactly.
func TestBase64Stream(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 56, 57, 58, 114, 1000, b64LineIn*b64Batch - 1, b64LineIn * b64Batch, b64LineIn*b64Batch + 1, 3*b64LineIn*b64Batch + 17}
	for _, n := range sizes {
		for _, oneByte := range []bool{false, true} {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*31 + 7)
			}
			var r io.Reader = bytes.NewReader(data)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			var out bytes.Buffer
			if err := new(b64Encoder).encode(&out, r, "test"); err != nil {
				t.Fatal(err)
			}
			if int64(out.Len()) != base64Len(int64(n)) {
				t.Errorf("n=%d: wrote %d bytes, base64Len says %d", n, out.Len(), base64Len(int64(n)))
			}
			lines := strings.Split(out.String(), "\r\n")
			for i, l := range lines {
				if len(l) > b64LineOut || (i < len(lines)-1 && len(l) != b64LineOut) {
					t.Fatalf("n=%d: line %d has %d characters", n, i, len(l))
				}
			}
			got, err := base64.StdEncoding.DecodeString(strings.Join(lines, ""))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("n=%d oneByte=%v: decode mismatch (err %v)", n, oneByte, err)
			}
		}
	}
}

// TestCRLFWriter checks line-end normalisation, including a CR and its LF
// arriving in separate writes.
func TestCRLFWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
		eight  bool
	}{
		{"crlf untouched", []string{"a\r\nb\r\n"}, "a\r\nb\r\n", false},
		{"bare lf", []string{"a\nb\n"}, "a\r\nb\r\n", false},
		{"bare cr", []string{"a\rb\r"}, "a\r\nb\r\n", false},
		{"cr lf split across writes", []string{"a\r", "\nb"}, "a\r\nb", false},
		{"cr then cr", []string{"\r\r\n"}, "\r\n\r\n", false},
		{"lf cr", []string{"\n\r"}, "\r\n\r\n", false},
		{"8-bit noted", []string{"caf\xc3\xa9\n"}, "caf\xc3\xa9\r\n", true},
		{"long input", []string{strings.Repeat("x\n", 10000)}, strings.Repeat("x\r\n", 10000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := crlfWriter{w: &out}
			for _, w := range tt.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || c.saw8bit != tt.eight {
				t.Errorf("got %q (8bit %v), want %q (8bit %v)", truncate(out.String(), 50), c.saw8bit, truncate(tt.want, 50), tt.eight)
			}
		})
	}
}

// BenchmarkBase64Stream measures the attachment encoder: throughput and
// allocations per message (constant, independent of the attachment size).
func BenchmarkBase64Stream(b *testing.B) {
	for _, size := range []int64{64 << 10, 8 << 20} {
		b.Run(byteSize(size), func(b *testing.B) {
			m, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"},
				Attachments: []Attachment{{Name: "x.bin", Size: size, Open: func() (io.ReadCloser, error) {
					return &patternReader{n: size}, nil
				}}}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBase64Encoder measures the encoder alone.
func BenchmarkBase64Encoder(b *testing.B) {
	const size = 8 << 20
	var e b64Encoder
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.encode(io.Discard, &patternReader{n: size}, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func byteSize(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n>>10, 10) + "KiB"
}
