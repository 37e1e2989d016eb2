package message

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// dateLayout is the RFC 5322 section 3.3 date-time form.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// maxLineLen is the RFC 5322 section 2.1.1 line limit, CRLF excluded; a text
// body with a longer line is sent quoted-printable.
const maxLineLen = 998

// reservedHeader reports whether Compose writes the named field (lower
// case) itself and, if so, which Spec field to use instead ("" for none).
func reservedHeader(lower string) (use string, ok bool) {
	switch lower {
	case "from":
		return "Spec.From", true
	case "to":
		return "Spec.To", true
	case "cc":
		return "Spec.Cc", true
	case "bcc":
		return "Spec.Bcc", true
	case "reply-to":
		return "Spec.ReplyTo", true
	case "subject":
		return "Spec.Subject", true
	case "date":
		return "Spec.Date", true
	case "message-id":
		return "Spec.MessageID", true
	case "mime-version":
		return "", true
	}
	return "", strings.HasPrefix(lower, "content-")
}

// Compose validates spec and returns the message it describes. Date and
// Message-ID are fixed here, so every WriteTo of the result produces the
// same bytes (as long as the files it reads do not change).
//
// Files (TextFile, HTMLFile, attachment paths) and attachments' Open are
// opened here to check they are readable and to choose an encoding, but
// their content is read again, in a streaming fashion, on every write. A
// path must name a regular file: a device (/dev/zero), pipe or directory is
// an *InputError wrapping ErrNotRegular.
//
// Every input problem is an *InputError.
func Compose(spec Spec) (*Message, error) {
	c := &composer{}
	return c.compose(&spec)
}

// expandLocal replaces each entry of list that is one local name by what
// expand gives it (Spec.ExpandRecipient).
func expandLocal(list []string, expand func(string) ([]string, error)) ([]string, error) {
	var out []string
	for _, a := range list {
		name := strings.TrimSpace(a)
		if strings.ContainsAny(name, "@,<") {
			out = append(out, a)
			continue
		}
		to, err := expand(name)
		if err != nil {
			return nil, err
		}
		out = append(out, to...)
	}
	return out, nil
}

type composer struct {
	smtputf8 bool
}

// field is one header field in writing order.
type field struct{ name, value string }

func (c *composer) compose(s *Spec) (*Message, error) {
	from, err := c.addresses("from", []string{s.From})
	if err != nil {
		return nil, err
	}
	if len(from) != 1 {
		p := "is empty"
		if len(from) > 1 {
			p = fmt.Sprintf("holds %d addresses", len(from))
		}
		return nil, &InputError{Field: "from", Problem: p, Fix: "give exactly one sender address, e.g. you@example.com"}
	}
	if s.ExpandRecipient != nil {
		for _, l := range []*[]string{&s.To, &s.Cc, &s.Bcc} {
			if *l, err = expandLocal(*l, s.ExpandRecipient); err != nil {
				return nil, err
			}
		}
	}
	to, err := c.addresses("to", s.To)
	if err != nil {
		return nil, err
	}
	cc, err := c.addresses("cc", s.Cc)
	if err != nil {
		return nil, err
	}
	bcc, err := c.addresses("bcc", s.Bcc)
	if err != nil {
		return nil, err
	}
	replyTo, err := c.addresses("reply-to", s.ReplyTo)
	if err != nil {
		return nil, err
	}
	if len(to)+len(cc)+len(bcc) == 0 {
		return nil, &InputError{Field: "to", Problem: "no recipients", Fix: "give at least one recipient (To, Cc or Bcc)"}
	}
	if e := checkLine("subject", s.Subject); e != nil {
		return nil, e
	}

	date := s.Date
	if date.IsZero() {
		date = time.Now()
	}
	msgID, err := messageID(s.MessageID, from[0].Address)
	if err != nil {
		return nil, err
	}

	// RFC 5322 section 3.6 recommends this order; Bcc is never written.
	fs := []field{
		{"Date", date.Format(dateLayout)},
		{"From", formatAddress(from[0])},
	}
	if len(replyTo) > 0 {
		fs = append(fs, field{"Reply-To", formatList(replyTo)})
	}
	if len(to) > 0 {
		fs = append(fs, field{"To", formatList(to)})
	}
	if len(cc) > 0 {
		fs = append(fs, field{"Cc", formatList(cc)})
	}
	if s.Subject != "" {
		fs = append(fs, field{"Subject", mime.QEncoding.Encode("utf-8", s.Subject)})
	}
	fs = append(fs, field{"Message-ID", msgID})

	for i, h := range s.Headers {
		f, err := userHeader(i, h)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}

	root, err := c.body(s)
	if err != nil {
		return nil, err
	}
	fs = append(fs, field{"MIME-Version", "1.0"})
	fs = append(fs, root.fields...)
	root.fields = nil

	return &Message{
		env:      envelope(from[0].Address, to, cc, bcc),
		smtputf8: c.smtputf8,
		composed: &composed{header: fs, root: root},
	}, nil
}

// addresses parses the entries of one address field; an entry may be a
// comma-separated list, blank entries are skipped.
func (c *composer) addresses(name string, list []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for i, entry := range list {
		fieldName := name
		if len(list) > 1 || name != "from" {
			fieldName = fmt.Sprintf("%s[%d]", name, i)
		}
		if e := checkLine(fieldName, entry); e != nil {
			return nil, e
		}
		if strings.TrimSpace(entry) == "" {
			continue
		}
		as, err := mail.ParseAddressList(entry)
		if err != nil {
			return nil, &InputError{
				Field:   fieldName,
				Problem: fmt.Sprintf("%q is not a valid address (%v)", entry, err),
				Fix:     `write it as "user@example.com" or "Name <user@example.com>"`,
				Err:     err,
			}
		}
		for _, a := range as {
			if !isASCII(a.Address) {
				c.smtputf8 = true
			}
		}
		out = append(out, as...)
	}
	return out, nil
}

// formatAddress writes a bare addr-spec when there is no display name,
// and name-addr with an RFC 2047 encoded display name otherwise.
func formatAddress(a *mail.Address) string {
	s := a.String()
	if a.Name == "" {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	}
	return s
}

func formatList(as []*mail.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = formatAddress(a)
	}
	return strings.Join(parts, ", ")
}

// messageID validates a caller's Message-ID or makes one (RFC 5322 section
// 3.6.4: msg-id = "<" id-left "@" id-right ">"), returning it in brackets.
func messageID(id, fromAddr string) (string, error) {
	if id == "" {
		domain := fromAddr[strings.LastIndexByte(fromAddr, '@')+1:]
		var b [16]byte
		rand.Read(b[:])
		return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
	}
	if e := checkLine("message-id", id); e != nil {
		return "", e
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	at := strings.LastIndexByte(bare, '@')
	ok := at > 0 && at < len(bare)-1
	for i := 0; i < len(bare); i++ {
		if c := bare[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`<>"\(),;:`, c) >= 0 {
			ok = false
		}
	}
	if !ok {
		return "", &InputError{
			Field:   "message-id",
			Problem: fmt.Sprintf("%q is not a valid Message-ID", id),
			Fix:     `use the form "<unique@example.com>", or leave it empty to have one generated`,
		}
	}
	return "<" + bare + ">", nil
}

// userHeader validates one extra header field.
func userHeader(i int, h Header) (field, error) {
	fieldName := fmt.Sprintf("headers[%d]", i)
	if h.Name == "" {
		return field{}, &InputError{Field: fieldName, Problem: "has an empty name", Fix: `give headers as "Name: value"`}
	}
	// RFC 5322 section 2.2: field-name = 1*ftext, ftext = %d33-57 / %d59-126.
	for j := 0; j < len(h.Name); j++ {
		if c := h.Name[j]; c < 33 || c > 126 || c == ':' {
			if e := checkLine(fieldName+" name", h.Name); e != nil {
				return field{}, e
			}
			return field{}, &InputError{
				Field:   fieldName,
				Problem: fmt.Sprintf("name %q contains %q, which a header field name cannot hold", h.Name, string(rune(c))),
				Fix:     "use printable ASCII without spaces or colons, e.g. X-Mailer",
			}
		}
	}
	fieldName = fmt.Sprintf("header %q", h.Name)
	lower := strings.ToLower(h.Name)
	if use, ok := reservedHeader(lower); ok {
		fix := "remove it: tlsmail writes this field itself from the message structure"
		if use != "" {
			fix = "set " + use + " instead of an extra header"
		}
		return field{}, &InputError{
			Field:   fieldName,
			Problem: "would duplicate a header field that tlsmail writes itself",
			Fix:     fix,
		}
	}
	if e := checkLine(fieldName, h.Value); e != nil {
		return field{}, e
	}
	return field{h.Name, mime.QEncoding.Encode("utf-8", h.Value)}, nil
}

// body builds the MIME tree.
func (c *composer) body(s *Spec) (*part, error) {
	var alts []*part
	if s.Text != "" || s.TextFile != "" {
		p, err := textPart("text", "text/plain", s.Text, s.TextFile)
		if err != nil {
			return nil, err
		}
		alts = append(alts, p)
	}
	if s.HTML != "" || s.HTMLFile != "" {
		p, err := textPart("html", "text/html", s.HTML, s.HTMLFile)
		if err != nil {
			return nil, err
		}
		alts = append(alts, p)
	}
	if len(alts) == 0 && len(s.Attachments) == 0 {
		p, err := textPart("text", "text/plain", "", "")
		if err != nil {
			return nil, err
		}
		alts = append(alts, p)
	}
	var body *part
	switch len(alts) {
	case 1:
		body = alts[0]
	case 2:
		body = multipart("alternative", alts)
	}
	if len(s.Attachments) == 0 {
		return body, nil
	}
	var parts []*part
	if body != nil {
		parts = append(parts, body)
	}
	for i := range s.Attachments {
		p, err := attachmentPart(i, &s.Attachments[i])
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return multipart("mixed", parts), nil
}

func multipart(sub string, children []*part) *part {
	var b [12]byte
	rand.Read(b[:])
	// "=_" cannot occur in base64 or quoted-printable output, so the
	// boundary never collides with encoded content (RFC 2046 section 5.1.1).
	boundary := "=_tlsmail_" + hex.EncodeToString(b[:])
	return &part{
		fields:   []field{{"Content-Type", mime.FormatMediaType("multipart/"+sub, map[string]string{"boundary": boundary})}},
		boundary: boundary,
		children: children,
	}
}

// textPart makes a text/plain or text/html leaf, 7bit when the content is
// ASCII with short lines, otherwise quoted-printable (RFC 2045 section 6.7)
// so the message never needs 8BITMIME.
func textPart(name, ctype, text, path string) (*part, error) {
	src := &source{desc: name, text: text, path: path}
	r, err := src.reader()
	if err != nil {
		return nil, &InputError{Field: name + " file", Problem: err.Error(), Fix: fileFix(err), Err: err}
	}
	qp, err := needsQP(r)
	r.Close()
	if err != nil {
		return nil, &InputError{Field: name + " file", Problem: err.Error(), Fix: "check the path and its permissions", Err: err}
	}
	enc, cte := enc7bit, "7bit"
	if qp {
		enc, cte = encQP, "quoted-printable"
	}
	return &part{
		fields: []field{
			{"Content-Type", mime.FormatMediaType(ctype, map[string]string{"charset": "utf-8"})},
			{"Content-Transfer-Encoding", cte},
		},
		src: src,
		enc: enc,
	}, nil
}

// exactTextLimit bounds the text a message reads before it is written:
// needsQP looks at no more than this, and Size encodes a text body file
// into a counter only up to this size (a few milliseconds of work). A
// larger file is quoted-printable without further examination, and Size
// counts its file size instead: a lower bound, as neither
// quoted-printable nor line-end repair ever shrinks text. So the work done
// before connecting is bounded whatever the file's size (a sparse file of
// 10 GB took minutes to encode into a counter).
const exactTextLimit = 8 << 20

// needsQP reports whether text needs quoted-printable: a byte outside
// US-ASCII, a NUL, or a line longer than RFC 5322 allows. Text longer than
// exactTextLimit is reported as needing it without reading further (for
// plain ASCII text with short lines, quoted-printable differs only in its
// escaped "=" signs and trailing spaces).
func needsQP(r io.Reader) (bool, error) {
	var buf [4096]byte
	line := 0
	var read int64
	for {
		if read >= exactTextLimit {
			return true, nil
		}
		n, err := r.Read(buf[:])
		read += int64(n)
		for _, c := range buf[:n] {
			switch {
			case c >= 0x80 || c == 0:
				return true, nil
			case c == '\n' || c == '\r':
				line = 0
			default:
				line++
				if line > maxLineLen {
					return true, nil
				}
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func attachmentPart(i int, a *Attachment) (*part, error) {
	fieldName := fmt.Sprintf("attachments[%d]", i)
	src := &source{desc: fieldName, path: a.Path, open: a.Open, size: -1}
	name := a.Name
	switch {
	case a.Path != "":
		src.desc = a.Path
		if name == "" {
			name = filepath.Base(a.Path)
		}
		// Opened now, not first during DATA: an unreadable file is an
		// input error before any connection.
		f, err := OpenFile(a.Path)
		if err != nil {
			return nil, &InputError{Field: fieldName, Problem: fmt.Sprintf("cannot attach %q: %v", a.Path, err), Fix: fileFix(err), Err: err}
		}
		f.Close()
	case a.Open != nil:
		if a.Size > 0 {
			src.size = a.Size
		}
		r, err := src.reader()
		if err != nil {
			return nil, &InputError{Field: fieldName, Problem: fmt.Sprintf("cannot open %s: %v", src.desc, err), Fix: "check the attachment's source", Err: err}
		}
		r.Close()
	default:
		return nil, &InputError{Field: fieldName, Problem: "has neither Path nor Open", Fix: "give the file to attach"}
	}
	if name == "" {
		name = fmt.Sprintf("attachment-%d", i+1)
	}
	if e := checkLine(fieldName+" name", name); e != nil {
		return nil, e
	}

	ctype := a.ContentType
	if ctype == "" {
		ctype = mime.TypeByExtension(filepath.Ext(name))
	}
	if ctype == "" {
		var head [sniffLen]byte
		r, err := src.reader()
		if err != nil {
			return nil, &InputError{Field: fieldName, Problem: fmt.Sprintf("cannot open %s: %v", src.desc, err), Fix: "check the path and its permissions", Err: err}
		}
		n, err := io.ReadFull(r, head[:])
		r.Close()
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, &InputError{Field: fieldName, Problem: fmt.Sprintf("cannot read %s: %v", src.desc, err), Fix: "check the file", Err: err}
		}
		ctype = sniffContentType(head[:n], n < len(head))
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		return nil, &InputError{
			Field:   fieldName,
			Problem: fmt.Sprintf("content type %q is not usable for an attachment", ctype),
			Fix:     `give a MIME type such as "application/pdf", or leave it empty to detect it`,
			Err:     err,
		}
	}
	if params == nil {
		params = map[string]string{}
	}
	params["name"] = name
	ct := mime.FormatMediaType(mt, params)
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if ct == "" || cd == "" {
		return nil, &InputError{Field: fieldName, Problem: fmt.Sprintf("content type %q with name %q cannot be formatted", ctype, name), Fix: "use a standard MIME type and a plain file name"}
	}
	return &part{
		fields: []field{
			{"Content-Type", ct},
			{"Content-Disposition", cd},
			{"Content-Transfer-Encoding", "base64"},
		},
		src: src,
		enc: encBase64,
	}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
