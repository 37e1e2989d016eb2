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
			hint := int64(n) // the size, or unknown
			if oneByte {
				hint = -1
			}
			if err := new(b64Encoder).encode(&out, r, hint, "test"); err != nil {
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

// refBase64Lines is the simple form of what b64Encoder writes: the whole
// input through encoding/base64, cut into 76-character lines joined by
// CRLF.
func refBase64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > b64LineOut {
		b.WriteString(enc[:b64LineOut])
		b.WriteString("\r\n")
		enc = enc[b64LineOut:]
	}
	b.WriteString(enc)
	return b.String()
}

// TestBase64FastPathExact compares the table encoder byte for byte with
// the simple form, for every length up to three lines and around the block
// boundaries, with every byte value in every position of a 6-byte step.
func TestBase64FastPathExact(t *testing.T) {
	var sizes []int
	for n := 0; n <= 3*b64LineIn+1; n++ {
		sizes = append(sizes, n)
	}
	block := b64LineIn * b64Batch
	read := block * b64Reads
	sizes = append(sizes, block-b64LineIn, block-1, block, block+1, block+b64LineIn, 2*block+5,
		read-1, read, read+1, read+block, 2*read+b64LineIn+2)
	var e b64Encoder
	for _, n := range sizes {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*151 + n)
		}
		want := refBase64Lines(data)
		// The size hint only sizes the buffers: exact, unknown, too
		// small (one line of buffer), and a reused encoder.
		for _, tc := range []struct {
			e    *b64Encoder
			hint int64
		}{{new(b64Encoder), int64(n)}, {new(b64Encoder), -1}, {new(b64Encoder), 1}, {&e, int64(n)}} {
			var out bytes.Buffer
			if err := tc.e.encode(&out, bytes.NewReader(data), tc.hint, "test"); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Fatalf("n=%d hint=%d: output differs from encoding/base64 cut into lines\n got %q\nwant %q", n, tc.hint, truncate(out.String(), 200), truncate(want, 200))
			}
		}
	}
	// Every byte value at every offset of a line: 256 lines of 57 bytes.
	data := make([]byte, 256*b64LineIn)
	for i := range data {
		data[i] = byte(i/b64LineIn + i%b64LineIn*97)
	}
	var out bytes.Buffer
	if err := e.encode(&out, bytes.NewReader(data), -1, "test"); err != nil {
		t.Fatal(err)
	}
	if out.String() != refBase64Lines(data) {
		t.Fatal("byte values: output differs from encoding/base64 cut into lines")
	}
}

// FuzzBase64Stream checks arbitrary contents, read in chunks of arbitrary
// size, against the simple form.
func FuzzBase64Stream(f *testing.F) {
	f.Add([]byte("hello"), uint16(1))
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80}, 100), uint16(57))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		var r io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			r = &chunkReader{r: r, n: int(chunk)}
		}
		var out bytes.Buffer
		if err := new(b64Encoder).encode(&out, r, int64(chunk)-1, "fuzz"); err != nil {
			t.Fatal(err)
		}
		if out.String() != refBase64Lines(data) {
			t.Fatalf("%d bytes in chunks of %d: output differs", len(data), chunk)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
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

// refCRLF is the byte-at-a-time line-end repair crlfWriter replaced: the
// reference for the fast one.
func refCRLF(in []byte) (string, bool) {
	var out []byte
	prevCR, eight := false, false
	for _, b := range in {
		if prevCR && b != '\n' {
			out = append(out, '\n')
		}
		if b == '\n' && !prevCR {
			out = append(out, '\r')
		}
		eight = eight || b >= 0x80
		out = append(out, b)
		prevCR = b == '\r'
	}
	if prevCR {
		out = append(out, '\n')
	}
	return string(out), eight
}

// FuzzCRLFWriter compares crlfWriter with refCRLF for arbitrary input cut
// into arbitrary writes, and checks that what it passes to WriteCRLF keeps
// the promise (no bare CR or LF).
func FuzzCRLFWriter(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r\r\n\n\r.x\xc3\xa9"), uint8(3))
	f.Add([]byte(strings.Repeat("line\r\n", 2000)+"tail\r"), uint8(0))
	f.Add([]byte("\r"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		want, eight := refCRLF(data)
		var rec crlfRecorder
		c := crlfWriter{w: &rec}
		step := int(cut)
		if step == 0 {
			step = len(data) + 1
		}
		for p := data; len(p) > 0; {
			k := min(step, len(p))
			if n, err := c.Write(p[:k]); n != k || err != nil {
				t.Fatalf("Write = %d, %v; want %d", n, err, k)
			}
			p = p[k:]
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if rec.String() != want || c.saw8bit != eight {
			t.Fatalf("got %q (8bit %v), want %q (8bit %v)", truncate(rec.String(), 80), c.saw8bit, truncate(want, 80), eight)
		}
		if rec.broken {
			t.Fatal("a WriteCRLF span holds a bare CR or LF")
		}
	})
}

// TestCRLFWriterCases runs the fuzz seeds and a table of edge cases
// against refCRLF on every commit.
func TestCRLFWriterCases(t *testing.T) {
	inputs := []string{"", "\n", "\r", "\r\n", "\n\r", "\r\r", "a\rb", "a\r\r\nb", ".\r\n.", "\x80",
		strings.Repeat("x", 31) + "\x80", strings.Repeat("ab\r\n", 3000) + "c\nd\re",
		strings.Repeat("unix line\n", 500), strings.Repeat("mac line\r", 500)}
	for _, in := range inputs {
		for _, step := range []int{1, 2, 7, 4096, 1 << 20} {
			want, eight := refCRLF([]byte(in))
			var rec crlfRecorder
			c := crlfWriter{w: &rec}
			for p := []byte(in); len(p) > 0; {
				k := min(step, len(p))
				c.Write(p[:k])
				p = p[k:]
			}
			c.Close()
			if rec.String() != want || c.saw8bit != eight || rec.broken {
				t.Errorf("%q in writes of %d: got %q (8bit %v, promise broken %v), want %q (8bit %v)",
					truncate(in, 30), step, truncate(rec.String(), 60), c.saw8bit, rec.broken, truncate(want, 60), eight)
			}
		}
	}
}

// BenchmarkCRLFWriter measures the line-end repair on text that already
// has CRLF (a prepared message; runs pass through) and on Unix text.
func BenchmarkCRLFWriter(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"crlf", "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdC4g\r\n"},
		{"lf", "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			chunk := []byte(strings.Repeat(tc.line, 32<<10/len(tc.line)))
			c := crlfWriter{w: io.Discard}
			b.ReportAllocs()
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				c.Write(chunk)
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

// BenchmarkBase64Encoder measures the encoder alone, reading from memory
// (patternReader's generator would cost more than the encoding).
func BenchmarkBase64Encoder(b *testing.B) {
	const size = 8 << 20
	data, _ := io.ReadAll(&patternReader{n: size})
	var e b64Encoder
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.encode(io.Discard, bytes.NewReader(data), size, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBase64Lines is the reference for BenchmarkBase64Encoder: the
// same lines made with encoding/base64, one line per call, as before the
// table encoder.
func BenchmarkBase64Lines(b *testing.B) {
	const size = 8 << 20
	data, _ := io.ReadAll(&patternReader{n: size})
	out := make([]byte, 0, base64Len(size))
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		out = out[:0]
		for i := 0; i < len(data); i += b64LineIn {
			if i > 0 {
				out = append(out, '\r', '\n')
			}
			out = base64.StdEncoding.AppendEncode(out, data[i:min(i+b64LineIn, len(data))])
		}
	}
}

func byteSize(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n>>10, 10) + "KiB"
}
