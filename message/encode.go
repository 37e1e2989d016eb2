package message

import (
	"encoding/base64"
	"io"
)

// RFC 2045 section 6.8: base64 lines are at most 76 characters; 57 input
// bytes make exactly one such line.
const (
	b64LineIn  = 57
	b64LineOut = 76
	b64Batch   = 1024 // lines encoded per read: 57 KiB in, 76 KiB out
)

// b64Encoder streams base64 with CRLF line breaks (RFC 2045 section 6.8)
// through fixed buffers: memory does not depend on the content size, and
// encoding allocates nothing.
type b64Encoder struct {
	in  [b64LineIn * b64Batch]byte
	out [(b64LineOut + 2) * b64Batch]byte
}

// encode reads r to the end and writes its base64 form to w. Lines are
// separated by CRLF; the last line has none (the CRLF before the next
// multipart delimiter belongs to the delimiter, RFC 2046 section 5.1.1).
func (e *b64Encoder) encode(w io.Writer, r io.Reader, desc string) error {
	first := true
	for {
		n, err := io.ReadFull(r, e.in[:])
		o := 0
		for i := 0; i < n; i += b64LineIn {
			j := min(i+b64LineIn, n)
			if !first {
				e.out[o], e.out[o+1] = '\r', '\n'
				o += 2
			}
			first = false
			base64.StdEncoding.Encode(e.out[o:], e.in[i:j])
			o += base64.StdEncoding.EncodedLen(j - i)
		}
		if o > 0 {
			if _, werr := w.Write(e.out[:o]); werr != nil {
				return werr
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return &SourceError{Source: desc, Err: err}
		}
	}
}

// base64Len is the number of bytes b64Encoder writes for n input bytes.
func base64Len(n int64) int64 {
	if n <= 0 {
		return 0
	}
	chars := (n + 2) / 3 * 4
	lines := (n + b64LineIn - 1) / b64LineIn
	return chars + 2*(lines-1)
}

// crlfWriter turns every bare CR and bare LF into CRLF (RFC 5321 section
// 2.3.8: bare CR and LF must not be sent) and leaves CRLF alone, so input
// that already uses CRLF passes through byte for byte. It notes whether it
// saw 8-bit bytes. Close completes a trailing bare CR.
type crlfWriter struct {
	w       io.Writer
	prevCR  bool
	saw8bit bool
	buf     [8 << 10]byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), len(c.buf)/2)]
		o := 0
		for _, b := range chunk {
			if c.prevCR && b != '\n' {
				c.buf[o] = '\n'
				o++
			}
			if b == '\n' && !c.prevCR {
				c.buf[o] = '\r'
				o++
			}
			if b >= 0x80 {
				c.saw8bit = true
			}
			c.buf[o] = b
			o++
			c.prevCR = b == '\r'
		}
		if _, err := c.w.Write(c.buf[:o]); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// Close writes the LF of a trailing bare CR. It does not close w.
func (c *crlfWriter) Close() error {
	if c.prevCR {
		c.prevCR = false
		_, err := c.w.Write([]byte{'\n'})
		return err
	}
	return nil
}
