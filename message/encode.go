package message

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
)

// RFC 2045 section 6.8: base64 lines are at most 76 characters; 57 input
// bytes make exactly one such line.
const (
	b64LineIn  = 57
	b64LineOut = 76
	b64Batch   = 1024 // lines per write: 57 KiB in, 78 KiB out
	b64Reads   = 4    // batches per read: 228 KiB (fewer, larger reads of the file)
)

// b64Alphabet is the base64 alphabet of RFC 2045 section 6.8, table 1.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Encoder streams base64 with CRLF line breaks (RFC 2045 section 6.8)
// through fixed buffers: memory does not depend on the content size, and
// encoding allocates nothing once the encoder exists.
//
// Whole 57-byte input lines are encoded straight into the output buffer,
// CRLF included, six input bytes (eight characters) per step through a
// table of character pairs, one per 12-bit value: a quarter of the table
// look-ups and stores of encoding/base64, which the profile of a large
// attachment showed as its largest cost. A partial last line goes through
// encoding/base64 (it has the padding).
//
// The buffers are as large as the content needs, up to one read
// (b64Batch * b64Reads lines) in and one block (b64Batch lines) out, so a
// small attachment does not pay for large buffers.
type b64Encoder struct {
	pairs [1 << 12]uint16 // the two characters for a 12-bit value, first in the low byte
	ready bool
	in    []byte // whole lines
	out   []byte // a CRLF carried over, then up to b64Batch lines
}

// init fills the table and makes the buffers large enough for size input
// bytes (size < 0: unknown).
func (e *b64Encoder) init(size int64) {
	if !e.ready {
		for i := range e.pairs {
			e.pairs[i] = uint16(b64Alphabet[i>>6]) | uint16(b64Alphabet[i&63])<<8
		}
		e.ready = true
	}
	lines := int64(b64Batch * b64Reads)
	if size >= 0 {
		lines = min(lines, max(1, (size+b64LineIn-1)/b64LineIn))
	}
	if int64(len(e.in)) < lines*b64LineIn {
		e.in = make([]byte, lines*b64LineIn)
		e.out = make([]byte, 2+(b64LineOut+2)*min(lines, b64Batch))
	}
}

// encodeLines encodes the whole 57-byte lines at the start of src into
// dst, each line's 76 characters followed by CRLF, and returns the number
// of bytes written and of input bytes used.
func (e *b64Encoder) encodeLines(dst, src []byte) (o, used int) {
	t := &e.pairs
	for len(src)-used >= b64LineIn && len(dst)-o >= b64LineOut+2 {
		in := (*[b64LineIn]byte)(src[used:])
		out := (*[b64LineOut + 2]byte)(dst[o:])
		// Nine steps of six bytes: an 8-byte big-endian load (the two
		// extra bytes still lie inside the line) gives four 12-bit
		// indexes, whose character pairs make one 8-byte store.
		// Unrolled, with constant offsets: no bounds checks, no spills.
		binary.LittleEndian.PutUint64(out[0:], pairs4(t, binary.BigEndian.Uint64(in[0:])))
		binary.LittleEndian.PutUint64(out[8:], pairs4(t, binary.BigEndian.Uint64(in[6:])))
		binary.LittleEndian.PutUint64(out[16:], pairs4(t, binary.BigEndian.Uint64(in[12:])))
		binary.LittleEndian.PutUint64(out[24:], pairs4(t, binary.BigEndian.Uint64(in[18:])))
		binary.LittleEndian.PutUint64(out[32:], pairs4(t, binary.BigEndian.Uint64(in[24:])))
		binary.LittleEndian.PutUint64(out[40:], pairs4(t, binary.BigEndian.Uint64(in[30:])))
		binary.LittleEndian.PutUint64(out[48:], pairs4(t, binary.BigEndian.Uint64(in[36:])))
		binary.LittleEndian.PutUint64(out[56:], pairs4(t, binary.BigEndian.Uint64(in[42:])))
		binary.LittleEndian.PutUint64(out[64:], pairs4(t, binary.BigEndian.Uint64(in[48:])))
		// The last three bytes of the line, and the line break.
		v := uint32(in[54])<<16 | uint32(in[55])<<8 | uint32(in[56])
		binary.LittleEndian.PutUint32(out[72:], uint32(t[v>>12&0xfff])|uint32(t[v&0xfff])<<16)
		out[76], out[77] = '\r', '\n'
		o += b64LineOut + 2
		used += b64LineIn
	}
	return o, used
}

// pairs4 returns the eight characters for the first six bytes of the
// big-endian value v, first character in the low byte.
func pairs4(t *[1 << 12]uint16, v uint64) uint64 {
	return uint64(t[v>>52]) | uint64(t[v>>40&0xfff])<<16 | uint64(t[v>>28&0xfff])<<32 | uint64(t[v>>16&0xfff])<<48
}

// encode reads r to the end and writes its base64 form to w, one Write per
// block of up to b64Batch lines. size is the content's length when known,
// else -1; it only sizes the buffers. Lines are separated by CRLF; the last line
// has none (the CRLF before the next multipart delimiter belongs to the
// delimiter, RFC 2046 section 5.1.1).
//
// Each line is encoded with its CRLF after it; the CRLF that ends a block
// is held back and written at the start of the next one, so that it is
// dropped after the last line.
func (e *b64Encoder) encode(w io.Writer, r io.Reader, size int64, desc string) error {
	e.init(size)
	write := w.Write
	if lw, ok := w.(crlfLineWriter); ok {
		write = lw.WriteCRLF // every line break in a block is CRLF
	}
	first := true
	for {
		n, err := io.ReadFull(r, e.in)
		for in := e.in[:n]; len(in) > 0; {
			block := in[:min(len(in), b64LineIn*b64Batch)]
			in = in[len(block):]
			e.out[0], e.out[1] = '\r', '\n'
			o, used := e.encodeLines(e.out[2:], block)
			o += 2
			if used < len(block) { // a partial last line, with its padding
				base64.StdEncoding.Encode(e.out[o:], block[used:])
				o += base64.StdEncoding.EncodedLen(len(block) - used)
			} else {
				o -= 2 // the CRLF after the block's last line
			}
			start := 0
			if first {
				start = 2
			}
			first = false
			if _, werr := write(e.out[start:o]); werr != nil {
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

// crlfLineWriter is a writer with a cheaper way in for spans whose line
// breaks are all CRLF (no bare CR or LF): the SMTP client's data writer
// then skips its line-by-line scan for bare LFs and, when the span holds no
// ".", for dots to stuff (RFC 5321 section 4.5.2). WriteTo gives it the
// blocks of base64 attachments; writers between (countWriter, the CLI's
// progress counter) pass the method on.
type crlfLineWriter interface {
	WriteCRLF(p []byte) (int, error)
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
//
// Runs of input that need no change are written as they are, without a
// copy, and through WriteCRLF when w has it (see crlfLineWriter): the
// runs hold CRLF line breaks only. A CR at the end of a write is held back
// until the next byte shows whether its LF follows; either way it goes out
// as CRLF.
type crlfWriter struct {
	w       io.Writer
	prevCR  bool // a CR was held back
	saw8bit bool
}

var crlfBytes = []byte("\r\n")

func (c *crlfWriter) Write(p []byte) (int, error) {
	if !c.saw8bit && Has8Bit(p) {
		c.saw8bit = true
	}
	write := c.w.Write
	if lw, ok := c.w.(crlfLineWriter); ok {
		write = lw.WriteCRLF
	}
	i := 0
	if c.prevCR && len(p) > 0 {
		c.prevCR = false
		if _, err := c.w.Write(crlfBytes); err != nil {
			return 0, err
		}
		if p[0] == '\n' { // the held-back CR's own LF
			i = 1
		}
	}
	// p[run:i] needs no change. Line by line: the next LF (kept until
	// passed, so that runs of bare CRs do not search for it again) and
	// the first CR before it; CRLF is the only line break left as it is.
	// Every byte is searched at most once for each.
	run, lf := i, -2
	for i < len(p) {
		if lf != -1 && lf < i {
			lf = bytes.IndexByte(p[i:], '\n')
			if lf >= 0 {
				lf += i
			}
		}
		end := len(p)
		if lf >= 0 {
			end = lf
		}
		r := bytes.IndexByte(p[i:end], '\r')
		switch {
		case r >= 0 && i+r == end-1 && lf >= 0: // CRLF
			i = lf + 1
			continue
		case r < 0 && lf < 0: // no line break in the rest
			i = len(p)
			continue
		}
		// A bare CR, a CR ending p, or a bare LF.
		at := lf
		if r >= 0 {
			at = i + r
		}
		if at > run {
			if _, err := write(p[run:at]); err != nil {
				return run, err
			}
		}
		if at == len(p)-1 && p[at] == '\r' {
			c.prevCR = true
			return len(p), nil
		}
		if _, err := c.w.Write(crlfBytes); err != nil {
			return at, err
		}
		i = at + 1
		run = i
	}
	if run < len(p) {
		if _, err := write(p[run:]); err != nil {
			return run, err
		}
	}
	return len(p), nil
}

// Has8Bit reports whether p holds a byte above 127 (content that needs
// 8BITMIME, RFC 6152), looking at eight bytes at a time.
func Has8Bit(p []byte) bool {
	var acc uint64
	for len(p) >= 32 {
		acc |= binary.LittleEndian.Uint64(p) | binary.LittleEndian.Uint64(p[8:]) |
			binary.LittleEndian.Uint64(p[16:]) | binary.LittleEndian.Uint64(p[24:])
		if acc&0x8080808080808080 != 0 {
			return true
		}
		p = p[32:]
	}
	for _, b := range p {
		if b >= 0x80 {
			return true
		}
	}
	return false
}

// Close writes a CR held back as CRLF. It does not close w.
func (c *crlfWriter) Close() error {
	if c.prevCR {
		c.prevCR = false
		_, err := c.w.Write(crlfBytes)
		return err
	}
	return nil
}
