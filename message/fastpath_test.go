package message

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
)

// refWrite is the simple path WriteTo replaced: go-message's header and
// multipart writers for the header fields and the structure,
// encoding/base64 cut into lines for attachments, the byte-at-a-time
// line-end repair for text, and no bypass of the buffer. It calls none of
// the writing code under test (not writeFields either): only the composed
// message's fields and parts, as data, are shared.
func refWrite(t *testing.T, c *composed) []byte {
	t.Helper()
	var out bytes.Buffer
	refHeader := func(fs []field) textproto.Header {
		var h textproto.Header
		for i := len(fs) - 1; i >= 0; i-- { // Add inserts at the top
			h.Add(fs[i].name, fs[i].value)
		}
		return h
	}
	if err := textproto.WriteHeader(&out, refHeader(c.header)); err != nil {
		t.Fatal(err)
	}
	var body func(w io.Writer, p *part)
	body = func(w io.Writer, p *part) {
		if p.children != nil {
			mw := textproto.NewMultipartWriter(w)
			if err := mw.SetBoundary(p.boundary); err != nil {
				t.Fatal(err)
			}
			for _, c := range p.children {
				pw, err := mw.CreatePart(refHeader(c.fields))
				if err != nil {
					t.Fatal(err)
				}
				body(pw, c)
			}
			if err := mw.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
		r, err := p.src.reader()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		content, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		switch p.enc {
		case encBase64:
			io.WriteString(w, refBase64Lines(content))
		case encQP:
			qw := quotedprintable.NewWriter(w)
			qw.Write(content)
			qw.Close()
		default:
			s, _ := refCRLF(content) // not crlfWriter: the reference must be independent
			io.WriteString(w, s)
		}
	}
	body(&out, c.root)
	return out.Bytes()
}

// TestWriteToMatchesSimplePath checks WriteTo byte for byte against the
// simple path for messages that use every kind of part, with attachments
// around the encoder's block size, and that the output keeps the wire
// rules (CRLF only, 76-character base64 lines).
func TestWriteToMatchesSimplePath(t *testing.T) {
	dir := t.TempDir()
	block := b64LineIn * b64Batch
	file := func(name string, n int) string {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + n)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	specs := []struct {
		name string
		spec Spec
	}{
		{"text only", Spec{Text: "hello\n.dot line\n"}},
		{"text and html", Spec{Text: "plain", HTML: "<p>caf\u00e9</p>"}},
		{"one empty attachment", Spec{Attachments: []Attachment{{Path: file("empty.bin", 0)}}}},
		{"text and attachments", Spec{Text: "see attached\n", Attachments: []Attachment{
			{Path: file("a.bin", 1)}, {Path: file("b.bin", b64LineIn)}, {Path: file("c.bin", block+1)},
		}}},
		{"alternative and attachments", Spec{Text: "plain", HTML: "<b>x</b>", Attachments: []Attachment{
			{Path: file("d.bin", 2*block)}, {Path: file("e.bin", 3*block-5)},
		}}},
	}
	for _, tt := range specs {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.From = "a@example.com"
			tt.spec.To = []string{"b@example.org"}
			m, err := Compose(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			n, err := m.WriteTo(&got)
			if err != nil {
				t.Fatal(err)
			}
			want := refWrite(t, m.composed)
			if !bytes.Equal(got.Bytes(), want) {
				i := 0
				for i < min(got.Len(), len(want)) && got.Bytes()[i] == want[i] {
					i++
				}
				t.Fatalf("WriteTo differs from the simple path at byte %d of %d/%d: got %q, want %q", i, got.Len(), len(want),
					truncate(string(got.Bytes()[i:]), 60), truncate(string(want[i:]), 60))
			}
			if n != int64(got.Len()) || m.Size() != n {
				t.Errorf("WriteTo returned %d, Size %d, wrote %d", n, m.Size(), got.Len())
			}
			checkWire(t, got.Bytes(), false)
			// Base64 lines: 76 characters, the last of a part shorter.
			for _, l := range strings.Split(got.String(), "\r\n") {
				if len(l) > b64LineOut && !strings.Contains(l, ":") {
					t.Fatalf("line of %d characters", len(l))
				}
			}
		})
	}
}

// crlfRecorder takes WriteCRLF and checks its promise: no bare CR or LF
// in a span.
type crlfRecorder struct {
	bytes.Buffer
	spans, spanBytes int
	broken           bool
}

func (r *crlfRecorder) WriteCRLF(p []byte) (int, error) {
	r.spans++
	r.spanBytes += len(p)
	for i, c := range p {
		if c == '\n' && (i == 0 || p[i-1] != '\r') || c == '\r' && (i+1 == len(p) || p[i+1] != '\n') {
			r.broken = true
		}
	}
	return r.Write(p)
}

// TestWriteToCRLFSpans checks that WriteTo hands the base64 blocks to a
// writer's WriteCRLF, that those spans keep the promise, and that the
// bytes are the same as through Write alone.
func TestWriteToCRLFSpans(t *testing.T) {
	size := 3*b64LineIn*b64Batch + 10
	m, err := Compose(Spec{From: "a@example.com", To: []string{"b@example.org"}, Text: "x\n",
		Attachments: []Attachment{{Name: "p.bin", Size: int64(size), Open: func() (io.ReadCloser, error) {
			return &patternReader{n: int64(size)}, nil
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	plain, rec := writeBothWays(t, m)
	if !bytes.Equal(rec.Bytes(), plain.Bytes()) {
		t.Fatal("output through WriteCRLF differs from output through Write")
	}
	// Three full blocks go through WriteCRLF; the last, 18 bytes, is
	// buffered with the closing delimiter.
	if want := base64Len(int64(size)) - 18; rec.spans != 3 || int64(rec.spanBytes) != want {
		t.Errorf("WriteCRLF got %d spans, %d bytes; want 3 spans, %d bytes", rec.spans, rec.spanBytes, want)
	}
	if rec.broken {
		t.Error("a WriteCRLF span holds a bare CR or LF")
	}
}

// TestWriteToMatchesSimplePathRandom compares WriteTo with refWrite for
// random messages: text with every kind of line break and dots, text
// files, HTML alternatives, attachments of sizes around the encoder's
// lines, blocks and reads, read in random chunks.
func TestWriteToMatchesSimplePathRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	text := func() string {
		alphabet := "ab .\r\n\r\n"
		b := make([]byte, r.IntN(3*spanDirect))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := range 60 {
		spec := Spec{From: "a@example.com", To: []string{"b@example.org"}, Text: text()}
		if r.IntN(2) == 0 {
			spec.HTML = text()
		}
		if r.IntN(3) == 0 {
			p := filepath.Join(dir, fmt.Sprintf("t%d.txt", i))
			if err := os.WriteFile(p, []byte(text()), 0o600); err != nil {
				t.Fatal(err)
			}
			spec.Text, spec.TextFile = "", p
		}
		for range r.IntN(3) {
			sizes := []int{0, b64LineIn, b64LineIn * b64Batch, b64LineIn * b64Batch * b64Reads}
			n := max(0, sizes[r.IntN(len(sizes))]+r.IntN(300)-150)
			data := make([]byte, n)
			for k := range data {
				data[k] = byte(r.Uint32())
			}
			chunk := 1 + r.IntN(100000)
			a := Attachment{Name: "x.bin", Open: func() (io.ReadCloser, error) {
				return io.NopCloser(&chunkReader{bytes.NewReader(data), chunk}), nil
			}}
			if r.IntN(2) == 0 {
				a.Size = int64(n)
			}
			spec.Attachments = append(spec.Attachments, a)
		}
		m, err := Compose(spec)
		if err != nil {
			t.Fatal(err)
		}
		plain, rec := writeBothWays(t, m)
		want := refWrite(t, m.composed)
		if !bytes.Equal(plain.Bytes(), want) || !bytes.Equal(rec.Bytes(), want) {
			t.Fatalf("message %d: WriteTo differs from the simple path (plain equal: %v, through WriteCRLF equal: %v)",
				i, bytes.Equal(plain.Bytes(), want), bytes.Equal(rec.Bytes(), want))
		}
		if rec.broken {
			t.Fatalf("message %d: a WriteCRLF span holds a bare CR or LF", i)
		}
		sized := true
		for _, a := range spec.Attachments {
			sized = sized && a.Size > 0 // Open without Size: unknown
		}
		if n := m.Size(); n != int64(len(want)) && (n != -1 || sized) {
			t.Fatalf("message %d: Size %d, WriteTo wrote %d", i, n, len(want))
		}
		checkWire(t, plain.Bytes(), false)
	}
}

// writeBothWays writes m through a plain buffer (Write only) and through a
// crlfRecorder (which takes WriteCRLF spans as well).
func writeBothWays(t *testing.T, m *Message) (*bytes.Buffer, *crlfRecorder) {
	t.Helper()
	var plain bytes.Buffer
	if _, err := m.WriteTo(&plain); err != nil {
		t.Fatal(err)
	}
	var rec crlfRecorder
	if _, err := m.WriteTo(&rec); err != nil {
		t.Fatal(err)
	}
	return &plain, &rec
}
