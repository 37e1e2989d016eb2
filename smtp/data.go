package smtp

import (
	"bytes"
	"io"
)

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
	start, i := 0, 0
	for i < len(p) {
		if d.bol && p[i] == '.' {
			d.put(p[start:i])
			d.put(dot)
			start = i // the line's own '.' goes out with the rest
		}
		d.bol = false
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			d.cr = p[len(p)-1] == '\r'
			break
		}
		nl := i + j
		prevCR := d.cr
		if nl > 0 {
			prevCR = p[nl-1] == '\r'
		}
		if !prevCR {
			d.put(p[start:nl])
			d.put(crlf)
			start = nl + 1
		}
		d.bol, d.cr = true, false
		i = nl + 1
	}
	d.put(p[start:])
	if d.err != nil {
		return 0, d.err
	}
	return len(p), nil
}

// WriteCRLF writes p, whose line breaks the caller guarantees are all
// CRLF (no bare CR or LF inside p), as Write would, without the scan from
// line to line: with no bare LF to mend, the only change is a "." doubled
// after each LF, so the scan goes from "." to "." (base64 text holds
// none, RFC 4648 section 4: one vectorised IndexByte). When p starts
// with the LF of a line break begun elsewhere, Write does the work.
// message.Message.WriteTo calls it, through any writer that passes the
// method on, for base64 attachments and for runs of text that need no
// line-end repair.
//
// A caller that breaks the promise can only make bare CRs or LFs reach
// the server, never an end of data: a "." after an LF is doubled
// whether or not a CR came before it, as Write does.
func (d *dotWriter) WriteCRLF(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if p[0] == '\n' {
		return d.Write(p)
	}
	// One IndexByte per "." (none in base64): a "." at the start of a
	// line is doubled, and the line's own "." goes out with the rest.
	start := 0
	for i := 0; ; {
		k := bytes.IndexByte(p[i:], '.')
		if k < 0 {
			break
		}
		at := i + k
		if at == 0 && d.bol || at > 0 && p[at-1] == '\n' {
			d.put(p[start:at])
			d.put(dot)
			start = at
		}
		i = at + 1
	}
	d.put(p[start:])
	if d.err != nil {
		return 0, d.err
	}
	last := p[len(p)-1]
	d.bol, d.cr = last == '\n', last == '\r'
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
