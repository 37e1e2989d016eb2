// Package headerblock reads the header section of a message (RFC 5322
// section 2.1: the lines up to the first empty line) from a bufio.Reader,
// whole lines at a time and bounded in memory: at most a limit of bytes
// for the whole section, and optionally at most a length per line. The
// reader is left at the first byte after what was read, so the body is
// read from it as it is. message (PeekFrom, Prepare) and internal/downgrade
// share it.
package headerblock

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// TooLargeError is the error for a header section longer than the limit.
type TooLargeError struct{ Limit int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the header section is larger than %d bytes", e.Limit)
}

// LongLineError is the error for a header line longer than the line limit.
type LongLineError struct{ Max int }

func (e *LongLineError) Error() string {
	return fmt.Sprintf("header line is longer than %d bytes", e.Max)
}

// Lines reads the lines of a header section one at a time.
type Lines struct {
	r       *bufio.Reader
	limit   int
	maxLine int
	total   int
}

// NewLines returns a Lines reading from r. limit bounds the bytes of all
// lines read (line endings included); maxLine, when above 0, bounds one
// line (its line ending included).
func NewLines(r *bufio.Reader, limit, maxLine int) *Lines {
	return &Lines{r: r, limit: limit, maxLine: maxLine}
}

// Append reads the next whole line, with its line ending ("\n", "\r\n";
// none for a last line that has none), and appends it to dst; a line
// longer than the reader's buffer is read in several pieces. At the end
// of the input it returns dst and io.EOF. Which line ends the header is
// the caller's to decide (see IsBlank). A line that would pass the section
// limit is a *TooLargeError, one longer than maxLine a *LongLineError,
// and neither is appended: memory stays within the limits, and the time
// is linear in the bytes read. A read error is returned as it is.
func (l *Lines) Append(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		chunk, err := l.r.ReadSlice('\n')
		n := len(dst) - start + len(chunk)
		if l.maxLine > 0 && (n > l.maxLine || (n == l.maxLine && err == bufio.ErrBufferFull)) {
			return dst[:start], &LongLineError{Max: l.maxLine}
		}
		if l.total+len(chunk) > l.limit {
			return dst[:start], &TooLargeError{Limit: l.limit}
		}
		l.total += len(chunk)
		dst = append(dst, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue // a long line: read on
		case err == io.EOF && len(dst) > start:
			return dst, nil // a last line without a line ending
		}
		return dst, err
	}
}

// IsBlank reports whether line, as Append returns it, is the empty line
// that ends a header section: nothing but its line ending.
func IsBlank(line []byte) bool {
	return len(line) > 0 && len(bytes.TrimRight(line, "\r\n")) == 0
}

// Read reads the whole header section from r: every line up to and
// including the first blank one (IsBlank), or to the end of the input for
// a message that is all header, at most limit bytes (else a
// *TooLargeError). r is left at the first byte of the body.
func Read(r *bufio.Reader, limit int) ([]byte, error) {
	l := NewLines(r, limit, 0)
	var hdr []byte
	for {
		start := len(hdr)
		var err error
		hdr, err = l.Append(hdr)
		if errors.Is(err, io.EOF) {
			return hdr, nil
		}
		if err != nil {
			return nil, err
		}
		if IsBlank(hdr[start:]) {
			return hdr, nil
		}
	}
}
