package headerblock

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestRead drives Read through a reader whose buffer (16 bytes, bufio's
// least) is shorter than most lines, so lines come in pieces.
func TestRead(t *testing.T) {
	long := "Subject: " + strings.Repeat("x", 100) + "\r\n"
	tests := []struct {
		name, in  string
		limit     int
		wantHdr   string
		wantRest  string
		wantLarge bool
	}{
		{name: "CRLF blank line", in: "A: 1\r\nB: 2\r\n\r\nbody\r\n", limit: 100, wantHdr: "A: 1\r\nB: 2\r\n\r\n", wantRest: "body\r\n"},
		{name: "LF blank line", in: "A: 1\n\nbody", limit: 100, wantHdr: "A: 1\n\n", wantRest: "body"},
		{name: "long line in pieces", in: long + "\r\nbody", limit: 1000, wantHdr: long + "\r\n", wantRest: "body"},
		{name: "all header, no final newline", in: "A: 1\r\nB: 2", limit: 100, wantHdr: "A: 1\r\nB: 2"},
		{name: "empty input", in: "", limit: 100},
		{name: "blank line first", in: "\r\nbody", limit: 100, wantHdr: "\r\n", wantRest: "body"},
		{name: "exactly the limit", in: "A: 1\r\n\r\nbody", limit: 8, wantHdr: "A: 1\r\n\r\n", wantRest: "body"},
		{name: "one byte over the limit", in: "A: 1\r\n\r\nbody", limit: 7, wantLarge: true},
		{name: "no blank line within the limit", in: strings.Repeat("A: 1\r\n", 100), limit: 64, wantLarge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			hdr, err := Read(br, tt.limit)
			if tt.wantLarge {
				var e *TooLargeError
				if !errors.As(err, &e) || e.Limit != tt.limit {
					t.Fatalf("Read = %q, %v; want a *TooLargeError", hdr, err)
				}
				return
			}
			if err != nil || string(hdr) != tt.wantHdr {
				t.Fatalf("Read = %q, %v; want %q", hdr, err, tt.wantHdr)
			}
			if rest, _ := io.ReadAll(br); string(rest) != tt.wantRest {
				t.Errorf("left %q, want %q", rest, tt.wantRest)
			}
		})
	}
}

// TestLinesMaxLine pins the line limit at its edge (line ending
// included), with a buffer the size of the limit (as Prepare reads) and a
// smaller one.
func TestLinesMaxLine(t *testing.T) {
	for _, size := range []int{16, 32} {
		for _, tt := range []struct {
			line string
			ok   bool
		}{
			{strings.Repeat("a", 31) + "\n", true},
			{strings.Repeat("a", 32) + "\n", false},
			{strings.Repeat("a", 31), true}, // last line, no ending
			// A full line without its ending is refused, as Prepare's
			// ReadSlice on a buffer of maxLine bytes always did.
			{strings.Repeat("a", 32), false},
			{strings.Repeat("a", 33), false},
		} {
			l := NewLines(bufio.NewReaderSize(strings.NewReader(tt.line), size), 1<<20, 32)
			got, err := l.Append(nil)
			var e *LongLineError
			if tt.ok && (err != nil || string(got) != tt.line) {
				t.Errorf("buffer %d, %d-byte line: Append = %q, %v; want the line", size, len(tt.line), got, err)
			}
			if !tt.ok && (!errors.As(err, &e) || len(got) != 0) {
				t.Errorf("buffer %d, %d-byte line: Append = %q, %v; want a *LongLineError", size, len(tt.line), got, err)
			}
		}
	}
}

// TestLinesReadError: a read error other than io.EOF is returned as it is.
func TestLinesReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("A: 1\r\n"), iotest.ErrReader(boom))
	_, err := Read(bufio.NewReaderSize(r, 16), 100)
	if !errors.Is(err, boom) {
		t.Fatalf("Read = %v, want %v", err, boom)
	}
}
