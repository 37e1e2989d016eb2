package smtp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/message"
)

// naiveCRLF is the byte-at-a-time reference for line-end repair: every
// bare CR and bare LF becomes CRLF (RFC 5321 section 2.3.8).
func naiveCRLF(in []byte) []byte {
	var out []byte
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case c == '\r' && i+1 < len(in) && in[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case c == '\r' || c == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// naiveDotStuff is the line-by-line reference for the DATA encoding (RFC
// 5321 section 4.5.2): normalise line ends, double a "." that starts a
// line, end the data with CRLF "." CRLF (adding a line break first when
// the data does not end with one).
func naiveDotStuff(in []byte) []byte {
	in = naiveCRLF(in)
	var out []byte
	for len(in) > 0 {
		line := in
		if i := bytes.Index(in, []byte("\r\n")); i >= 0 {
			line = in[:i+2]
		}
		in = in[len(line):]
		if line[0] == '.' {
			out = append(out, '.')
		}
		out = append(out, line...)
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return append(out, ".\r\n"...)
}

// randText is text built to hit the data path's edges: lines starting with
// ".", every kind of line break (CRLF, bare LF, bare CR, CR LF split
// anywhere by the reads), long CRLF-only runs (which go past WriteTo's
// buffer through WriteCRLF), empty lines and no final line break.
func randText(r *rand.Rand, size int, eightBit bool) []byte {
	breaks := []string{"\r\n", "\r\n", "\r\n", "\n", "\r", "\r\r\n", "\n\r"}
	crlfOnly := r.IntN(2) == 0
	var b []byte
	for len(b) < size {
		n := r.IntN(120)
		if r.IntN(4) == 0 {
			b = append(b, '.')
		}
		for range n {
			c := byte('a' + r.IntN(26))
			switch r.IntN(12) {
			case 0:
				c = '.'
			case 1:
				c = ' '
			case 2:
				if eightBit {
					c = byte(0x80 + r.IntN(0x80))
				}
			}
			b = append(b, c)
		}
		if crlfOnly {
			b = append(b, "\r\n"...)
		} else {
			b = append(b, breaks[r.IntN(len(breaks))]...)
		}
	}
	b = b[:size]
	return b
}

// randSize is a size near one of the data path's boundaries (16 KiB
// records, 4 KiB spans, 32 KiB buffers and reads, 57-byte base64 lines, 57
// KiB blocks, 228 KiB reads) or a small one.
func randSize(r *rand.Rand) int {
	bounds := []int{0, 57, 4 << 10, 16 << 10, 32 << 10, 57 * 1024, 4 * 57 * 1024}
	b := bounds[r.IntN(len(bounds))]
	return max(0, b+r.IntN(200)-100) + r.IntN(3)*r.IntN(b+1)
}

// chunkyReader returns reads of random sizes.
type chunkyReader struct {
	r   *rand.Rand
	src io.Reader
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+c.r.IntN(len(p))]
	}
	return c.src.Read(p)
}

func (c *chunkyReader) Close() error { return nil }

// TestDataMatchesReference sends many random composed and prepared
// messages through a real client on a loopback connection and compares
// the bytes the server reads, end marker included, with the plain
// reference path: the message written into a bytes.Buffer (which has no
// WriteCRLF, so no span goes the fast way), then the byte-at-a-time line
// repair and the line-by-line dot-stuffer above. The message package
// checks the first half against go-message's writer and encoding/base64.
func TestDataMatchesReference(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 6))
	dir := t.TempDir()
	count := 120
	if testing.Short() {
		count = 30
	}

	type item struct {
		name   string
		want   []byte
		reader func() io.Reader
	}
	var items []item
	for i := range count {
		var m *message.Message
		var err error
		var desc string
		if r.IntN(3) == 0 {
			body := randText(r, randSize(r), r.IntN(2) == 0)
			hdr := "From: a@example.org\r\nTo: b@example.org\r\nDate: Sat, 28 Nov 2026 03:00:00 +0000\r\nMessage-ID: <x@example.org>\r\nSubject: t\r\n"
			if r.IntN(2) == 0 {
				hdr = strings.ReplaceAll(hdr, "\r\n", "\n")
			}
			in := append([]byte(hdr+"\r\n"), body...)
			if r.IntN(5) == 0 {
				in = []byte(hdr) // no body at all
			}
			desc = fmt.Sprintf("prepared, %d-byte body", len(body))
			prep := func() *message.Message {
				m, err := message.Prepare(&chunkyReader{r, bytes.NewReader(in)}, message.PrepareOptions{ExtractRecipients: true})
				if err != nil {
					t.Fatalf("%s: %v", desc, err)
				}
				return m
			}
			var ref bytes.Buffer
			if _, err := prep().WriteTo(&ref); err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			m = prep()
			items = append(items, item{desc, naiveDotStuff(ref.Bytes()), func() io.Reader { return m.Reader() }})
			continue
		}
		spec := message.Spec{From: "a@example.org", To: []string{"b@example.org"}, Subject: "t",
			Date: time.Unix(1_700_000_000, 0), MessageID: "x@example.org"}
		switch r.IntN(4) {
		case 0:
		case 1:
			spec.Text = string(randText(r, randSize(r), false))
		case 2:
			p := filepath.Join(dir, fmt.Sprintf("text%d.txt", i))
			if err := os.WriteFile(p, randText(r, randSize(r), r.IntN(4) == 0), 0o600); err != nil {
				t.Fatal(err)
			}
			spec.TextFile = p
		case 3:
			spec.Text = string(randText(r, randSize(r), false))
			spec.HTML = string(randText(r, randSize(r), r.IntN(2) == 0))
		}
		for range r.IntN(4) {
			data := make([]byte, randSize(r))
			for k := range data {
				data[k] = byte(r.Uint32())
			}
			a := message.Attachment{ContentType: "application/octet-stream", Name: "a.bin"}
			if r.IntN(2) == 0 {
				a.Path = filepath.Join(dir, fmt.Sprintf("att%d-%d.bin", i, len(spec.Attachments)))
				if err := os.WriteFile(a.Path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				rr := rand.New(rand.NewPCG(r.Uint64(), 1))
				a.Open = func() (io.ReadCloser, error) { return &chunkyReader{rr, bytes.NewReader(data)}, nil }
				if r.IntN(2) == 0 {
					a.Size = int64(len(data))
				}
			}
			spec.Attachments = append(spec.Attachments, a)
		}
		if m, err = message.Compose(spec); err != nil {
			t.Fatal(err)
		}
		var ref bytes.Buffer
		if _, err := m.WriteTo(&ref); err != nil {
			t.Fatal(err)
		}
		desc = fmt.Sprintf("composed, %d bytes", ref.Len())
		items = append(items, item{desc, naiveDotStuff(ref.Bytes()), func() io.Reader { return m.Reader() }})
	}

	got := make(chan []byte, len(items))
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING", "8BITMIME")
		for range items {
			// The peer's deadline is for one connection; 120 messages
			// under -race on a loaded machine take longer than that, so
			// each message gets it anew (a bound on a hang, not speed).
			p.conn.SetDeadline(time.Now().Add(20 * time.Second))
			p.expect("MAIL FROM:")
			p.expect("RCPT TO:")
			p.expect("DATA")
			p.send("250 ok\r\n250 ok\r\n354 go ahead\r\n")
			got <- rawData(p.br)
			p.send("250 ok\r\n")
		}
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		res, err := c.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}, EightBit: true}, it.reader())
		if err != nil {
			t.Fatalf("%s: %v", it.name, err)
		}
		b := <-got
		if !bytes.Equal(b, it.want) {
			i := 0
			for i < len(b) && i < len(it.want) && b[i] == it.want[i] {
				i++
			}
			t.Errorf("%s: the server read %d bytes, the reference has %d; first difference at %d: got %q, want %q",
				it.name, len(b), len(it.want), i, clip(b, i), clip(it.want, i))
		}
		if res.Bytes != int64(len(b)) {
			t.Errorf("%s: Result.Bytes %d, the server read %d", it.name, res.Bytes, len(b))
		}
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// rawData reads message data as sent, up to and including the end marker.
func rawData(br *bufio.Reader) []byte {
	var b []byte
	for {
		l, err := br.ReadSlice('\n')
		b = append(b, l...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return b
		}
		if bytes.HasSuffix(b, []byte("\r\n.\r\n")) || bytes.Equal(b, []byte(".\r\n")) {
			return b
		}
	}
}

func clip(b []byte, i int) []byte {
	lo, hi := max(0, i-20), min(len(b), i+20)
	return b[lo:hi]
}

// naiveDataWriter is naiveDotStuff for the data writer's own contract:
// every bare LF and every bare CR becomes CRLF (RFC 5321 section 2.3.8),
// a "." at a line start is doubled, and the data ends with CRLF "." CRLF.
func naiveDataWriter(in []byte) []byte {
	var norm []byte
	for i, c := range in {
		switch {
		case c == '\n' && (i == 0 || in[i-1] != '\r'):
			norm = append(norm, '\r', '\n')
		case c == '\r' && (i+1 == len(in) || in[i+1] != '\n'):
			norm = append(norm, '\r', '\n')
		default:
			norm = append(norm, c)
		}
	}
	var out []byte
	bol := true
	for i, c := range norm {
		if bol && c == '.' {
			out = append(out, '.')
		}
		out = append(out, c)
		bol = c == '\n' && i > 0 && norm[i-1] == '\r'
	}
	switch {
	case len(out) == 0 || bytes.HasSuffix(out, []byte("\r\n")):
	case out[len(out)-1] == '\r':
		out = append(out, '\n')
	default:
		out = append(out, '\r', '\n')
	}
	return append(out, ".\r\n"...)
}

// keepsPromise reports whether p may go through WriteCRLF: every line
// break in it is CRLF, whole.
func keepsPromise(p []byte) bool {
	for i, c := range p {
		if c == '\n' && (i == 0 || p[i-1] != '\r') || c == '\r' && (i+1 == len(p) || p[i+1] != '\n') {
			return false
		}
	}
	return true
}

// FuzzDotWriter compares the data writer with the line-by-line reference
// for any input cut into any writes, each through WriteCRLF when it keeps
// the promise (and the fuzzer asks for it), else through Write.
func FuzzDotWriter(f *testing.F) {
	f.Add([]byte("a\r\n.b\r\n..\r\n"), []byte{3, 1, 5})
	f.Add([]byte(".\r\n.\r\n\r\n.x\r"), []byte{1, 2, 0x81, 3})
	f.Add([]byte("QUJD\r\nREVG\r\n.\n.\r."), []byte{6, 0x86, 2})
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		var got bytes.Buffer
		dw := newDotWriter(&got)
		rest := in
		for _, c := range cuts {
			n := min(int(c&0x7f), len(rest))
			p := rest[:n]
			rest = rest[n:]
			if c&0x80 != 0 && keepsPromise(p) {
				dw.WriteCRLF(p)
			} else {
				dw.Write(p)
			}
		}
		dw.Write(rest)
		if err := dw.Close(); err != nil {
			t.Fatal(err)
		}
		if want := naiveDataWriter(in); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%q cut %v: got %q, want %q", in, cuts, got.Bytes(), want)
		}
		if dw.n != int64(got.Len()) {
			t.Fatalf("counted %d, wrote %d", dw.n, got.Len())
		}
	})
}
