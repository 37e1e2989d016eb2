package message

import (
	"bufio"
	"errors"
	"io"
	"mime/quotedprintable"
	"os"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Message is a composed or prepared message, ready to be streamed into the
// SMTP DATA command.
type Message struct {
	env      Envelope
	smtputf8 bool

	composed *composed
	prepared *prepared
}

// Requirements lists the SMTP extensions a message needs from the server.
type Requirements struct {
	// SMTPUTF8 (RFC 6531) is needed when an envelope address holds
	// non-ASCII characters. MAIL FROM then carries the SMTPUTF8 parameter;
	// a server without it cannot take the message.
	SMTPUTF8 bool

	// HeaderUTF8 is set when a header field holds raw UTF-8 text (RFC
	// 6532 section 3) while the envelope addresses are ASCII: a server
	// with SMTPUTF8 takes it as it is, and for one without, the header
	// can be downgraded to RFC 2047 encoded-words (RFC 6857 section 3),
	// which the SMTP client does (smtp.Envelope.HeaderUTF8). Only a
	// prepared message can have it: Compose encodes header text.
	HeaderUTF8 bool

	// EightBitMIME (RFC 6152) is needed when the body holds bytes above
	// 127; MAIL FROM then carries BODY=8BITMIME. Composed messages never
	// need it (their bodies are quoted-printable or base64). For a prepared
	// message it is true when the header declares an 8bit or binary
	// Content-Transfer-Encoding, and becomes final only after WriteTo has
	// streamed the body (spool it first to know before MAIL FROM).
	EightBitMIME bool
}

// Envelope returns the SMTP envelope: the reverse-path and the
// deduplicated forward-paths, Bcc recipients included.
func (m *Message) Envelope() Envelope {
	e := m.env
	e.To = append([]string(nil), m.env.To...)
	return e
}

// Requirements reports the SMTP extensions the message needs.
func (m *Message) Requirements() Requirements {
	r := Requirements{SMTPUTF8: m.smtputf8}
	if p := m.prepared; p != nil {
		r.HeaderUTF8 = p.headerUTF8 && !r.SMTPUTF8
		r.EightBitMIME = p.declared8bit || p.saw8bit
	}
	return r
}

// Prepared reports whether m came from Prepare (a finished message read
// from a stream) rather than Compose. Only a prepared message's
// Requirements can change while it is written: its body is read then.
func (m *Message) Prepared() bool { return m.prepared != nil }

// Size returns the number of bytes WriteTo will write, or -1 when that
// cannot be known without reading the content: a prepared message (its
// body is a stream), an attachment given by Open without Size, or a file
// that cannot be examined. Attachment sizes are computed from the file
// size, and text bodies up to 8 MiB are encoded into a counter, so the
// size is exact and costs at most a bounded read and a stat per file. A
// text body file larger than that counts as its file size, so that the
// cost stays bounded: the result is then a lower bound (encoding never
// shrinks text): the "client's estimate of the message size" RFC 1870
// (section 1) declares with SIZE. A server whose limit it exceeds refuses the message at MAIL
// FROM; one whose limit only the exact size exceeds refuses it during
// DATA, as it would without a SIZE parameter.
// Use it for the SMTP SIZE parameter (RFC 1870 section 6).
func (m *Message) Size() int64 {
	if m.composed == nil {
		return -1
	}
	var cw countWriter
	st := writeState{w: &cw, count: &cw, sizeOnly: true}
	if err := st.message(m.composed); err != nil {
		return -1
	}
	return cw.n
}

// WriteTo writes the message to w: header, blank line and body, every line
// ending in CRLF. It does not dot-stuff (that is the SMTP client's job).
// Content is streamed: memory use does not grow with attachment size.
//
// Base64 attachments are written in blocks of about 78 KiB, and text that
// needs no line-end repair in runs as long as it was read. When w has a
// method WriteCRLF(p []byte) (int, error), as the SMTP client's data writer
// does, such spans of 4 KiB or more go through it instead of Write: it
// promises that every line break in p is CRLF, so the writer need not look
// for bare ones.
//
// A composed message can be written any number of times; a prepared one
// only once (a second call returns UsedError). Read failures of files are
// *SourceError: the output is then incomplete and must not be sent.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	out := &spanWriter{bw: bufio.NewWriterSize(cw, 32<<10), direct: cw}
	var err error
	if m.composed != nil {
		st := writeState{w: out}
		err = st.message(m.composed)
	} else {
		err = m.prepared.writeTo(out)
	}
	if ferr := out.bw.Flush(); err == nil {
		err = ferr
	}
	return cw.n, err
}

// spanWriter is WriteTo's buffer: small writes (header fields, delimiters,
// line-end repairs) are gathered in bw; a large span with CRLF line breaks
// only (a base64 block, a run of text that needed no repair) goes to
// direct after a flush, through its WriteCRLF: one copy fewer, and one
// large write for the SMTP stream below, which hands it to TLS in
// full-size records.
type spanWriter struct {
	bw     *bufio.Writer
	direct *countWriter
}

// spanDirect is the size from which a CRLF span bypasses the buffer.
const spanDirect = 4 << 10

func (s *spanWriter) Write(p []byte) (int, error) { return s.bw.Write(p) }

func (s *spanWriter) WriteCRLF(p []byte) (int, error) {
	if len(p) < spanDirect {
		return s.bw.Write(p)
	}
	if err := s.bw.Flush(); err != nil {
		return 0, err
	}
	return s.direct.WriteCRLF(p)
}

// Reader returns the message as a stream, for callers that want an
// io.Reader. Close the reader to stop it early. Read returns the WriteTo
// error, if any.
//
// The reader also implements io.WriterTo: io.Copy (and so smtp.Client.Send)
// then writes the message straight into its destination, in the caller's
// goroutine. Only when Read is called first does a goroutine write into a
// pipe for it.
func (m *Message) Reader() io.ReadCloser { return &reader{m: m} }

// reader is what Reader returns: WriteTo writes the message directly;
// Read starts a pipe on first use.
type reader struct {
	m      *Message
	pr     *io.PipeReader
	used   bool // WriteTo ran or Read started the pipe
	closed bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.pr == nil {
		if r.closed {
			return 0, io.ErrClosedPipe
		}
		if r.used {
			return 0, io.EOF // WriteTo has written everything
		}
		r.used = true
		pr, pw := io.Pipe()
		r.pr = pr
		go func() {
			_, err := r.m.WriteTo(pw)
			pw.CloseWithError(err)
		}()
	}
	return r.pr.Read(p)
}

// WriteTo writes the message to w; after a Read it copies the rest of the
// pipe instead.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	switch {
	case r.pr != nil:
		return io.Copy(w, r.pr)
	case r.closed:
		return 0, io.ErrClosedPipe
	case r.used:
		return 0, nil
	}
	r.used = true
	return r.m.WriteTo(w)
}

func (r *reader) Close() error {
	r.closed = true
	if r.pr != nil {
		return r.pr.Close()
	}
	return nil
}

// composed is the validated result of Compose.
type composed struct {
	header []field // top-level fields, root part's included
	root   *part
}

type encoding int

const (
	enc7bit encoding = iota
	encQP
	encBase64
)

// part is one MIME entity: a leaf with a source, or a multipart.
type part struct {
	fields []field

	src *source
	enc encoding

	boundary string
	children []*part
}

// source is where a leaf's content comes from.
type source struct {
	desc string
	text string
	path string
	open func() (io.ReadCloser, error)
	size int64 // for open: exact size when positive
}

func (s *source) reader() (io.ReadCloser, error) {
	switch {
	case s.path != "":
		return OpenFile(s.path)
	case s.open != nil:
		r, err := s.open()
		if err == nil && r == nil {
			err = errors.New("Open returned no reader")
		}
		return r, err
	default:
		return io.NopCloser(strings.NewReader(s.text)), nil
	}
}

// knownSize returns the content length without reading it, or -1.
func (s *source) knownSize() int64 {
	switch {
	case s.path != "":
		st, err := os.Stat(s.path)
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		return st.Size()
	case s.open != nil:
		if s.size > 0 {
			return s.size
		}
		return -1
	default:
		return int64(len(s.text))
	}
}

// errUnknownSize stops a size-only pass.
type errUnknownSize struct{}

func (errUnknownSize) Error() string { return "message: size unknown" }

// writeState carries one write (or size-only) pass.
type writeState struct {
	w        io.Writer
	count    *countWriter // size-only: the counter behind w
	sizeOnly bool
	b64      *b64Encoder
}

func (st *writeState) message(c *composed) error {
	if err := writeFields(st.w, c.header); err != nil {
		return err
	}
	return st.body(c.root)
}

// writeFields writes header fields, folded by go-message's textproto
// (RFC 5322 section 2.2.3), and the blank line that ends the header.
func writeFields(w io.Writer, fs []field) error {
	var h textproto.Header
	// textproto.Header.Add inserts at the top: add in reverse.
	for i := len(fs) - 1; i >= 0; i-- {
		h.Add(fs[i].name, fs[i].value)
	}
	return textproto.WriteHeader(w, h)
}

// body writes the content of p. A multipart body is its parts between
// delimiter lines (RFC 2046 section 5.1.1): "--" boundary before each part,
// "--" boundary "--" after the last, and the CRLF before each delimiter
// belongs to the delimiter, so a part's content ends without one.
func (st *writeState) body(p *part) error {
	if p.children != nil {
		for i, c := range p.children {
			delim := "\r\n--" + p.boundary + "\r\n"
			if i == 0 {
				delim = delim[2:]
			}
			if _, err := io.WriteString(st.w, delim); err != nil {
				return err
			}
			if err := writeFields(st.w, c.fields); err != nil {
				return err
			}
			if err := st.body(c); err != nil {
				return err
			}
		}
		_, err := io.WriteString(st.w, "\r\n--"+p.boundary+"--\r\n")
		return err
	}
	if st.sizeOnly && p.enc == encBase64 {
		n := p.src.knownSize()
		if n < 0 {
			return errUnknownSize{}
		}
		st.count.n += base64Len(n)
		return nil
	}
	if st.sizeOnly && p.src.path != "" {
		// A large text file is not encoded into the counter (see
		// exactTextLimit): its size is a lower bound of its encoding.
		if n := p.src.knownSize(); n > exactTextLimit {
			st.count.n += n
			return nil
		}
	}
	r, err := p.src.reader()
	if err != nil {
		return &SourceError{Source: p.src.desc, Err: err}
	}
	defer r.Close()
	switch p.enc {
	case encBase64:
		if st.b64 == nil {
			st.b64 = new(b64Encoder)
		}
		return st.b64.encode(st.w, r, p.src.knownSize(), p.src.desc)
	case encQP:
		qw := quotedprintable.NewWriter(st.w)
		if _, err := copySource(qw, r, p.src.desc); err != nil {
			return err
		}
		return qw.Close()
	default:
		var cr crlfWriter
		cr.w = st.w
		if _, err := copySource(&cr, r, p.src.desc); err != nil {
			return err
		}
		return cr.Close()
	}
}

// copySource copies r to w, telling read errors (SourceError) from write
// errors (returned as they are).
func copySource(w io.Writer, r io.Reader, desc string) (int64, error) {
	var buf [32 << 10]byte
	var n int64
	for {
		k, rerr := r.Read(buf[:])
		if k > 0 {
			wk, werr := w.Write(buf[:k])
			n += int64(wk)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, &SourceError{Source: desc, Err: rerr}
		}
	}
}

// countWriter counts bytes; with a nil w it discards them.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.w == nil {
		c.n += int64(len(p))
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteCRLF passes a span with CRLF line breaks only on as such when w
// takes it (see crlfLineWriter), else writes it.
func (c *countWriter) WriteCRLF(p []byte) (int, error) {
	lw, ok := c.w.(crlfLineWriter)
	if !ok {
		return c.Write(p)
	}
	n, err := lw.WriteCRLF(p)
	c.n += int64(n)
	return n, err
}
