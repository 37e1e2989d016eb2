package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
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
		// Bare CR is mended like bare LF (RFC 5321 section 2.3.8), so no
		// server that ends lines at a lone CR or LF can be shown a "."
		// line the sender did not mean as the end of the data (SMTP
		// smuggling): every "." after a mended break is doubled.
		{"a\rb", "a\r\nb\r\n.\r\n"},
		{"x\r.\r\nMAIL FROM:<evil>\r\n", "x\r\n..\r\nMAIL FROM:<evil>\r\n.\r\n"},
		{"x\n.\nRCPT", "x\r\n..\r\nRCPT\r\n.\r\n"},
		{"x\r\r\n.", "x\r\n\r\n..\r\n.\r\n"},
		{"\r", "\r\n.\r\n"},
		{"\r.", "\r\n..\r\n.\r\n"},
		{"\n\r", "\r\n\r\n.\r\n"},
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

// TestDotWriterCRLFSpans checks that WriteCRLF gives exactly what Write
// gives for spans that keep its promise (CRLF line breaks only), with and
// without dots at line starts, after every kind of previous write.
func TestDotWriterCRLFSpans(t *testing.T) {
	spans := []string{
		"",
		"QUJD\r\nREVG",
		"QUJD\r\nREVG\r\n",
		".starts with a dot\r\nb",
		"a\r\n.\r\nb",
		"\r\n.x",
		"\nafter a CR",
		"no line break",
		"mid.dot only\r\n",
		"ends with CR\r",
	}
	before := []string{"", "x", "x\r\n", "x\r", "x\n", "."}
	for _, b := range before {
		for _, s := range spans {
			for _, after := range []string{"", ".next", "\nnext", "y"} {
				var want, got bytes.Buffer
				dw := newDotWriter(&want)
				dw.Write([]byte(b))
				dw.Write([]byte(s))
				dw.Write([]byte(after))
				dw.Close()
				fw := newDotWriter(&got)
				fw.Write([]byte(b))
				if n, err := fw.WriteCRLF([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("WriteCRLF(%q) = %d, %v", s, n, err)
				}
				fw.Write([]byte(after))
				fw.Close()
				if got.String() != want.String() || fw.n != dw.n {
					t.Errorf("%q then WriteCRLF(%q) then %q: got %q (%d), want %q (%d)", b, s, after, got.String(), fw.n, want.String(), dw.n)
				}
			}
		}
	}
}

// TestDeadlineWriterFullRecords writes message data of awkward sizes
// through a client on a real loopback connection and checks that every
// write to the connection but the last (the flush) is a whole number of
// 16 KiB records, and that the bytes arrive unchanged.
func TestDeadlineWriterFullRecords(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(conn)
		got <- b
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConn{Conn: raw}
	c := &Client{}
	c.setConn(rec)
	w := &deadlineWriter{c: c, ctx: context.Background()}
	var want bytes.Buffer
	for i, n := range []int{100, 80000, 5, 16384, 40000, 1, 16383, 16385, 200000, 7} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		want.Write(p)
		if k, err := w.Write(p); k != n || err != nil {
			t.Fatalf("write %d: %d, %v", i, k, err)
		}
	}
	if err := c.bw.Flush(); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the server read %d bytes, %d were written (equal: false)", len(b), want.Len())
	}
	if len(rec.sizes) < 2 {
		t.Fatalf("only %d writes to the connection", len(rec.sizes))
	}
	for i, n := range rec.sizes[:len(rec.sizes)-1] {
		if n%(16<<10) != 0 {
			t.Errorf("write %d to the connection: %d bytes, not whole 16 KiB records (all: %v)", i, n, rec.sizes)
		}
	}
}

// recordingConn notes the size of every write.
type recordingConn struct {
	net.Conn
	sizes []int
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	return r.Conn.Write(p)
}

// BenchmarkDotWriterCRLF compares Write and WriteCRLF on base64 lines (no
// "." at all) and on text with a "." in every line, in 78 KiB blocks.
func BenchmarkDotWriterCRLF(b *testing.B) {
	for _, data := range []struct{ name, line string }{
		{"base64", "TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdC4g\r\n"},
		{"text", "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"},
	} {
		chunk := bytes.Repeat([]byte(data.line), 1024)
		for _, tc := range []struct {
			name  string
			write func(*dotWriter, []byte) (int, error)
		}{
			{"Write", (*dotWriter).Write},
			{"WriteCRLF", (*dotWriter).WriteCRLF},
		} {
			b.Run(data.name+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(chunk)))
				dw := newDotWriter(io.Discard)
				for b.Loop() {
					tc.write(dw, chunk)
				}
			})
		}
	}
}

// lineSource yields n bytes of CRLF text lines without holding them.
type lineSource struct{ n, off int }

func (s *lineSource) Read(p []byte) (int, error) {
	if s.off >= s.n {
		return 0, io.EOF
	}
	p = p[:min(len(p), s.n-s.off)]
	for i := range p {
		switch (s.off + i) % 64 {
		case 62:
			p[i] = '\r'
		case 63:
			p[i] = '\n'
		default:
			p[i] = 'x'
		}
	}
	s.off += len(p)
	return len(p), nil
}

// stallInData is a server that accepts the envelope, says 354, reads the
// first bytes of the data (reported on started) and then reads no more
// until the client has given up (released), so the client's writes block
// once the socket buffers are full.
func stallInData(t *testing.T, started chan<- struct{}, release <-chan struct{}) string {
	return scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL FROM:")
		p.expect("RCPT TO:")
		p.expect("DATA")
		p.send("250 ok\r\n250 ok\r\n354 go ahead\r\n")
		p.line()
		close(started)
		<-release
	})
}

// TestDataWriteStalledServer: a server that stops reading mid-data makes
// the client's write time out under the step timeout, a *Error of kind
// timeout, not a hang.
func TestDataWriteStalledServer(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	addr := stallInData(t, started, release)
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}}, &lineSource{n: 1 << 30})
	wantKind(t, err, KindTimeout)
}

// meteredSource is a lineSource that counts what the client has taken
// from it, so that a test can see the client stop taking.
type meteredSource struct {
	lineSource
	taken atomic.Int64
}

func (m *meteredSource) Read(p []byte) (int, error) {
	n, err := m.lineSource.Read(p)
	m.taken.Add(int64(n))
	return n, err
}

// TestDataWriteCancelled: cancelling the context while a data write is
// blocked ends it (the step timeout is an hour), with the context's error
// in the chain. The server reads nothing after the first data line, so once
// the socket buffers are full the client's write cannot complete; the test
// cancels only after it has seen that: Send still running, and the client
// no longer taking from its 1 GiB source.
func TestDataWriteCancelled(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	addr := stallInData(t, started, release)
	c, err := dial(t, addr, &Config{Mode: None, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &meteredSource{lineSource: lineSource{n: 1 << 30}}
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, Envelope{From: "a@example.org", To: []string{"b@example.org"}}, src)
		done <- err
	}()
	<-started

	// Blocked: Send has not returned and the source has not been read for
	// a while (a bound on how long that takes to be seen, not a speed).
	const still = 500 * time.Millisecond
	last, since := src.taken.Load(), time.Now()
	for deadline := time.Now().Add(time.Minute); ; {
		select {
		case err := <-done:
			t.Fatalf("Send returned before the cancel: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if n := src.taken.Load(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= still {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client never stopped writing (%d bytes taken): the write is not blocked", last)
		}
	}
	if last == 0 || last >= int64(src.n) {
		t.Fatalf("the client took %d of %d bytes: not blocked in the middle of the data", last, src.n)
	}
	t.Logf("write blocked after %d bytes; cancelling", last)
	cancel()

	select {
	case err = <-done:
	case <-time.After(time.Minute):
		c.Close() // unblocks the write; the test has failed
		t.Fatal("Send still writing a minute after the context was cancelled")
	}
	e := wantKind(t, err, KindTimeout)
	if !errors.Is(e, context.Canceled) {
		t.Errorf("error %v does not carry context.Canceled", err)
	}
}
