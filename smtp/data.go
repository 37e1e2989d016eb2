package smtp

import (
	"bytes"
	"io"
)

// dotWriter writes message data for the DATA command (RFC 5321 section
// 4.5.2): a "." at the start of a line is doubled, a bare LF or a bare CR
// becomes CRLF (section 2.3.8: they must not be sent; a server that took a
// bare CR or LF for a line end could otherwise be shown a "." line the
// client never meant as the end of the data, the SMTP smuggling of
// CVE-2023-51764), and Close ends the data with CRLF "." CRLF, adding a
// line break first if the data did not end with one. It copies runs of
// ordinary bytes in one write, so the cost per byte is a scan, not a call.
type dotWriter struct {
	w   io.Writer
	bol bool // at the beginning of a line
	cr  bool // the last byte written was a CR whose LF has not come yet
	n   int64
	err error
}

func newDotWriter(w io.Writer) *dotWriter { return &dotWriter{w: w, bol: true} }

var (
	crlf     = []byte("\r\n")
	lf       = []byte("\n")
	dot      = []byte(".")
	endOfMsg = []byte(".\r\n")
)

func (d *dotWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	start, i := 0, 0
	if d.cr && len(p) > 0 {
		// The CR that ended the last write: an LF here completes it,
		// anything else leaves it bare.
		d.cr, d.bol = false, true
		d.put(lf)
		if p[0] == '\n' {
			start, i = 1, 1 // its LF is the one just written
		}
	}
	for i < len(p) {
		if d.bol && p[i] == '.' {
			d.put(p[start:i])
			d.put(dot)
			start = i // the line's own '.' goes out with the rest
		}
		d.bol = false
		end := len(p)
		if j := bytes.IndexByte(p[i:], '\n'); j >= 0 {
			end = i + j
		}
		// A CR before end is bare unless it is the CR of end's CRLF.
		if c := bytes.IndexByte(p[i:end], '\r'); c >= 0 && i+c+1 < end {
			at := i + c
			d.put(p[start : at+1])
			d.put(lf)
			start, i, d.bol = at+1, at+1, true
			continue
		}
		if end == len(p) {
			if p[end-1] == '\r' { // its LF may come with the next write
				d.put(p[start:])
				start, d.cr = end, true
			}
			break
		}
		if end == i || p[end-1] != '\r' { // a bare LF
			d.put(p[start:end])
			d.put(crlf)
			start = end + 1
		}
		d.bol = true
		i = end + 1
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
// whether or not a CR came before it, as Write does. (A CR that ends p
// is completed by the next write or by Close, as in Write.)
func (d *dotWriter) WriteCRLF(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if p[0] == '\n' || d.cr {
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
	switch {
	case d.cr: // a trailing CR: complete it
		d.put(lf)
		d.cr = false
	case !d.bol:
		d.put(crlf)
	}
	d.put(endOfMsg)
	return d.err
}
