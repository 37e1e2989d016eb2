package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

func TestProgressReader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int
		chunk     int
		wantLines int // redraws: one per whole percentage reached
	}{
		{"one read", 1000, 4096, 1},   // the first read reaches 100%
		{"byte by byte", 200, 1, 101}, // 0%, 1%, ... 100%
		{"odd chunks", 12345, 1000, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := bytes.Repeat([]byte("x"), tc.size)
			var out bytes.Buffer
			p := newProgressReader(io.LimitReader(bytes.NewReader(src), int64(tc.size)), &out, int64(tc.size))
			buf := make([]byte, tc.chunk)
			var got []byte
			for {
				n, err := p.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			p.Done()
			if !bytes.Equal(got, src) {
				t.Fatalf("the reader changed the data: %d bytes, want %d", len(got), len(src))
			}
			s := out.String()
			if !strings.Contains(s, "100%") {
				t.Fatalf("no 100%% in %q", s)
			}
			if !strings.HasSuffix(s, "\n") {
				t.Fatalf("Done did not end the line: %q", s)
			}
			if n := strings.Count(s, "\r"); n != tc.wantLines {
				t.Fatalf("%d redraws, want %d", n, tc.wantLines)
			}
		})
	}
}

func TestProgressWriteTo(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 1000)
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"WriterTo source", bytes.NewReader(src)},                          // *bytes.Reader has WriteTo
		{"plain Reader source", struct{ io.Reader }{bytes.NewReader(src)}}, // hidden: the Read path
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, bar bytes.Buffer
			p := newProgressReader(tc.r, &bar, int64(len(src)))
			n, err := io.Copy(&out, p)
			if err != nil || n != int64(len(src)) || !bytes.Equal(out.Bytes(), src) {
				t.Fatalf("io.Copy = %d, %v; data equal %v", n, err, bytes.Equal(out.Bytes(), src))
			}
			if !strings.Contains(bar.String(), "100%") {
				t.Fatalf("no 100%% in %q", bar.String())
			}
		})
	}
}

// TestIsTerminalNot: a regular file, a pipe and a buffer are not
// terminals (a real one is in TestSendProgressOnTerminal, Linux).
func TestIsTerminalNot(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for name, w := range map[string]io.Writer{"file": f, "pipe": pw, "buffer": &bytes.Buffer{}} {
		if isTerminal(w) {
			t.Errorf("%s: isTerminal = true", name)
		}
	}
}

// TestWithProgress drives withProgress through its terminal seam: the bar
// is drawn (through to 100%, the line ended by done) only on a terminal and
// for a message of at least progressMinBytes; otherwise the reader comes
// back unwrapped and nothing at all is written. The data passes unchanged
// either way.
func TestWithProgress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int64 // what the caller says; -1 unknown
		terminal bool
		wantBar  bool
	}{
		{"terminal, unknown size", -1, true, false},
		{"terminal, empty", 0, true, false},
		{"terminal, just below the threshold", progressMinBytes - 1, true, false},
		{"terminal, at the threshold", progressMinBytes, true, true},
		{"terminal, large", 3 * progressMinBytes, true, true},
		{"not a terminal, at the threshold", progressMinBytes, false, false},
		{"not a terminal, large", 3 * progressMinBytes, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("line of the message\r\n"), int(max(tc.size, 100))/21+1)
			if tc.size >= 0 {
				data = data[:tc.size]
			}
			src := bytes.NewReader(data)
			var stderr bytes.Buffer
			r, done := withProgress(src, &stderr, tc.size, tc.terminal)
			var out bytes.Buffer
			if _, err := io.Copy(&out, r); err != nil {
				t.Fatal(err)
			}
			done()
			if !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("the data changed: %d bytes out, %d in", out.Len(), len(data))
			}
			bar := stderr.String()
			if !tc.wantBar {
				if r != io.Reader(src) || bar != "" {
					t.Fatalf("wrapped %v, wrote %q; want the reader unwrapped and nothing written", r != io.Reader(src), bar)
				}
				return
			}
			total := fmt.Sprintf("of %.1f MiB", float64(tc.size)/(1<<20))
			if !strings.HasPrefix(bar, "\rtlsmail: sending [") || !strings.Contains(bar, "100% ") ||
				!strings.Contains(bar, total) || !strings.HasSuffix(bar, "\n") {
				t.Fatalf("bar = %q; want redraws up to 100%% %s, the line ended", bar, total)
			}
			if n := strings.Count(bar, "\r"); n < 1 || n > 101 {
				t.Errorf("%d redraws, want between 1 and 101", n)
			}
		})
	}
}

func TestMessageSize(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/m.eml"
	if err := os.WriteFile(file, make([]byte, 1234), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size int64
		file string
		want int64
	}{
		{500, "", 500},
		{500, file, 500},
		{-1, file, 1234},
		{-1, "-", -1},
		{-1, "", -1},
		{-1, dir + "/missing", -1},
		{-1, dir, -1},
	} {
		if got := messageSize(tc.size, tc.file); got != tc.want {
			t.Errorf("messageSize(%d, %q) = %d, want %d", tc.size, tc.file, got, tc.want)
		}
	}
}

// crlfSink records whether it was written through WriteCRLF.
type crlfSink struct {
	bytes.Buffer
	viaCRLF int
}

func (s *crlfSink) WriteCRLF(p []byte) (int, error) {
	s.viaCRLF += len(p)
	return s.Write(p)
}

// TestProgressWriterPassesCRLF checks that the progress counter passes
// WriteCRLF on to a writer that has it (the SMTP data writer's fast path),
// falls back to Write for one that has not, and counts both.
func TestProgressWriterPassesCRLF(t *testing.T) {
	data := []byte("QUJD\r\nREVG")
	for _, tc := range []struct {
		name string
		w    io.Writer
	}{
		{"with WriteCRLF", &crlfSink{}},
		{"without", &bytes.Buffer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bar bytes.Buffer
			p := newProgressReader(strings.NewReader(""), &bar, 100)
			pw := progressWriter{tc.w, p}
			if n, err := pw.WriteCRLF(data); n != len(data) || err != nil {
				t.Fatalf("WriteCRLF = %d, %v", n, err)
			}
			if p.n != int64(len(data)) {
				t.Errorf("counted %d bytes, want %d", p.n, len(data))
			}
			switch w := tc.w.(type) {
			case *crlfSink:
				if w.viaCRLF != len(data) || w.String() != string(data) {
					t.Errorf("the sink got %q, %d bytes through WriteCRLF", w.String(), w.viaCRLF)
				}
			case *bytes.Buffer:
				if w.String() != string(data) {
					t.Errorf("the buffer got %q", w.String())
				}
			}
		})
	}
}
