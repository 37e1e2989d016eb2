package smtp

import "io"

// dotWriter writes message data for the DATA command (RFC 5321 section
// 4.5.2): a "." at the start of a line is doubled, bare LF becomes CRLF, and
// Close ends the data with CRLF "." CRLF, adding a line break first if the
// data did not end with one. It copies runs of ordinary bytes in one write,
// so the cost per byte is a scan, not a call.
type dotWriter struct {
	w   io.Writer
	bol bool // at the beginning of a line
	cr  bool // the last byte was CR
	n   int64
	err error
}

func newDotWriter(w io.Writer) *dotWriter { return &dotWriter{w: w, bol: true} }

var (
	crlf     = []byte("\r\n")
	dot      = []byte(".")
	endOfMsg = []byte(".\r\n")
)

func (d *dotWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	start := 0
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch {
		case d.bol && b == '.':
			// Write what came before, including this '.', and one more.
			d.put(p[start : i+1])
			d.put(dot)
			start = i + 1
		case b == '\n' && !d.cr:
			d.put(p[start:i])
			d.put(crlf)
			start = i + 1
		}
		d.bol = b == '\n'
		d.cr = b == '\r'
	}
	d.put(p[start:])
	if d.err != nil {
		return 0, d.err
	}
	return len(p), nil
}

func (d *dotWriter) put(b []byte) {
	if d.err != nil || len(b) == 0 {
		return
	}
	var n int
	n, d.err = d.w.Write(b)
	d.n += int64(n)
}

// Close writes the end-of-data marker.
func (d *dotWriter) Close() error {
	if !d.bol {
		if d.cr { // a trailing bare CR: complete it
			d.put([]byte("\n"))
		} else {
			d.put(crlf)
		}
	}
	d.put(endOfMsg)
	return d.err
}
