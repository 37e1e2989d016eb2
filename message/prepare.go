package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/tlsmail/tlsmail/internal/headerblock"
)

// PrepareOptions configures Prepare.
type PrepareOptions struct {
	// From is the envelope sender (MAIL FROM), a single address. When
	// empty it is taken from the header: Resent-Sender or Resent-From for a
	// resent message, else Sender, else From. When the message has no From
	// field, From is also written as one (and is then required).
	From string

	// Recipients are envelope recipients given outside the message (on the
	// command line). With ExtractRecipients they are added to those found
	// in the header (as Postfix's "sendmail -t" does).
	Recipients []string

	// ExtractRecipients collects recipients from the To, Cc and Bcc fields
	// ("sendmail -t"). If the message has Resent- fields, the Resent-To,
	// Resent-Cc and Resent-Bcc fields of the topmost (newest) resent block
	// are used instead (RFC 5322 section 3.6.6).
	ExtractRecipients bool

	// ExpandRecipient, when set, lets local recipients through (a name
	// without '@' such as "root", in Recipients or in the header's
	// recipient fields, as a sendmail drop-in receives from cron) and
	// maps every envelope recipient to the addresses mail for it goes to
	// (msmtp's aliases; see config.Aliases.Expand). Only the envelope
	// changes: the header keeps what was written. Its error is returned
	// as is. When nil, a local name is an *InputError.
	ExpandRecipient func(addr string) ([]string, error)

	// Date is written as Date when the message has none; zero means the
	// time of Prepare.
	Date time.Time

	// MaxHeaderBytes bounds the header section; zero means 1 MiB. A
	// longer header is an *InputError.
	MaxHeaderBytes int

	// FromField, DateField and MessageIDField say when Prepare writes the
	// From, Date and Message-ID fields (msmtp's set_from_header,
	// set_date_header and set_msgid_header): FieldAuto (the zero value)
	// when the message has none, FieldAlways in place of the message's
	// own, FieldNever not at all. The From field written is From.
	FromField, DateField, MessageIDField FieldPolicy

	// KeepBcc keeps the Bcc and Resent-Bcc fields in the message (msmtp's
	// remove_bcc_headers off); by default they are removed (RFC 5322
	// section 3.6.3).
	KeepBcc bool

	// Undisclosed removes the To, Cc and Bcc fields and writes
	// "To: undisclosed-recipients:;" (an empty group, RFC 5322 section
	// 3.4) instead (msmtp's undisclosed_recipients). The envelope is
	// unchanged: ExtractRecipients still reads the removed fields.
	Undisclosed bool
}

// FieldPolicy says when Prepare writes a header field.
type FieldPolicy int

const (
	// FieldAuto writes the field when the message has none.
	FieldAuto FieldPolicy = iota
	// FieldAlways writes the field, removing the message's own.
	FieldAlways
	// FieldNever never writes the field.
	FieldNever
)

// undisclosedTo is msmtp's replacement for To, Cc and Bcc.
const undisclosedTo = "undisclosed-recipients:;"

// maxPreparedLine bounds one header line (RFC 5322 allows 998 octets; this
// is generous for what the wild sends).
const maxPreparedLine = 64 << 10

// Prepare reads the header section of a finished RFC 5322 message from r and
// returns a Message that streams the rest of r as the body when written.
//
// The header is kept byte for byte, except that bare LF (and bare CR) line
// ends become CRLF, Bcc and Resent-Bcc fields are removed (RFC 5322 section
// 3.6.3), and Date, Message-ID and From are appended when missing (a
// From field with nothing in it counts as missing when From is given; as
// msmtp does by default; PrepareOptions.FromField, DateField,
// MessageIDField, KeepBcc and Undisclosed change that as msmtp's
// set_*_header, remove_bcc_headers and undisclosed_recipients do). A
// message that already uses CRLF, has Date, Message-ID and From and no Bcc
// is written out byte-identical. The body is not held in memory: it is read
// from r during WriteTo, so the Message can be written only once.
//
// Problems in the header (no From and no PrepareOptions.From, a line that is
// not a header field, an address that does not parse, no recipients) are
// *InputError.
func Prepare(r io.Reader, opts PrepareOptions) (*Message, error) {
	limit := opts.MaxHeaderBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	br := bufio.NewReaderSize(r, maxPreparedLine)
	p := &prepared{body: br}
	fields, err := p.readHeader(br, limit)
	if err != nil {
		return nil, err
	}

	var optFrom *mail.Address
	if opts.From != "" {
		if e := checkLine("from", opts.From); e != nil {
			return nil, e
		}
		a, err := mail.ParseAddress(opts.From)
		if err != nil {
			return nil, &InputError{Field: "from", Problem: fmt.Sprintf("%q is not a valid address (%v)", opts.From, err), Fix: `write it as "user@example.com"`, Err: err}
		}
		optFrom = a
	}

	// Which fields give the recipients: the newest resent block, or the
	// originator's To/Cc/Bcc.
	rcptFields := map[string]bool{"to": true, "cc": true, "bcc": true}
	resentStart, resentEnd := -1, -1
	for i, f := range fields {
		if strings.HasPrefix(f.lower, "resent-") {
			if resentStart < 0 {
				resentStart = i
			}
			resentEnd = i + 1
		} else if resentStart >= 0 {
			break
		}
	}
	if resentStart >= 0 {
		rcptFields = map[string]bool{"resent-to": true, "resent-cc": true, "resent-bcc": true}
	}

	var rcpts []*mail.Address
	var sender *mail.Address
	var hasFrom, hasDate, hasMsgID bool
	var kept []headerLine
	for i, f := range fields {
		// A From field holding nothing (a program's "From: $from" with
		// $from empty) is no From when a sender is given: it is dropped
		// and the sender's written instead, as msmtp's set_from_header
		// auto does, unless FromField is FieldNever.
		emptyFrom := f.lower == "from" && strings.TrimSpace(f.value) == "" && optFrom != nil && opts.FromField != FieldNever
		switch f.lower {
		case "from":
			hasFrom = hasFrom || !emptyFrom
		case "date":
			hasDate = true
		case "message-id":
			hasMsgID = true
		case "content-transfer-encoding":
			switch strings.ToLower(strings.TrimSpace(f.value)) {
			case "8bit", "binary":
				p.declared8bit = true
			}
		}
		inBlock := resentStart < 0 || (i >= resentStart && i < resentEnd)
		if opts.ExtractRecipients && rcptFields[f.lower] && inBlock {
			as, err := parseHeaderList(f)
			if err != nil && opts.ExpandRecipient != nil {
				as, err = parseLocalList(f.value, err)
			}
			if err != nil {
				return nil, err
			}
			rcpts = append(rcpts, as...)
		}
		switch {
		case (f.lower == "bcc" || f.lower == "resent-bcc") && !opts.KeepBcc,
			opts.Undisclosed && (f.lower == "to" || f.lower == "cc" || f.lower == "bcc"),
			f.lower == "from" && opts.FromField == FieldAlways && optFrom != nil,
			emptyFrom,
			f.lower == "date" && opts.DateField == FieldAlways,
			f.lower == "message-id" && opts.MessageIDField == FieldAlways:
			continue
		}
		kept = append(kept, f)
	}

	// Envelope sender, in order of preference.
	if optFrom != nil {
		sender = optFrom
	} else {
		order := []string{"sender", "from"}
		if resentStart >= 0 {
			order = []string{"resent-sender", "resent-from", "sender", "from"}
		}
	search:
		for _, name := range order {
			for _, f := range fields {
				if f.lower != name {
					continue
				}
				as, err := parseHeaderList(f)
				if err != nil {
					return nil, err
				}
				if len(as) > 0 {
					sender = as[0]
					break search
				}
			}
		}
	}
	if sender == nil {
		return nil, &InputError{Field: "from", Problem: "the message has no From field and no sender was given", Fix: "add a From: line to the message or give the sender address"}
	}

	for i, entry := range opts.Recipients {
		name := fmt.Sprintf("recipients[%d]", i)
		if e := checkLine(name, entry); e != nil {
			return nil, e
		}
		if strings.TrimSpace(entry) == "" {
			continue
		}
		as, err := mail.ParseAddressList(entry)
		if err != nil && opts.ExpandRecipient != nil {
			as, err = parseLocalList(entry, err)
		}
		if err != nil {
			return nil, &InputError{Field: name, Problem: fmt.Sprintf("%q is not a valid address (%v)", entry, err), Fix: `write it as "user@example.com"`, Err: err}
		}
		rcpts = append(rcpts, as...)
	}
	if opts.ExpandRecipient != nil {
		var expanded []*mail.Address
		for _, r := range rcpts {
			addrs, err := opts.ExpandRecipient(r.Address)
			if err != nil {
				return nil, err
			}
			for _, a := range addrs {
				if e := checkLine("recipient", a); e != nil {
					return nil, e
				}
				expanded = append(expanded, &mail.Address{Address: a})
			}
		}
		rcpts = expanded
	}
	if len(rcpts) == 0 {
		fix := "give recipients, or read them from the message's To, Cc and Bcc fields (PrepareOptions.ExtractRecipients)"
		if opts.ExtractRecipients {
			fix = "add To, Cc or Bcc fields to the message, or give recipients on the command line"
		}
		return nil, &InputError{Field: "recipients", Problem: "no recipients", Fix: fix}
	}

	var added []field
	switch {
	case opts.FromField == FieldNever:
	case opts.FromField == FieldAlways && optFrom != nil, !hasFrom:
		if optFrom == nil {
			return nil, &InputError{Field: "from", Problem: "the message has no From field", Fix: "add a From: line to the message or give the sender address"}
		}
		added = append(added, field{"From", formatAddress(optFrom)})
	}
	if opts.Undisclosed {
		added = append(added, field{"To", undisclosedTo})
	}
	if opts.DateField == FieldAlways || (!hasDate && opts.DateField == FieldAuto) {
		d := opts.Date
		if d.IsZero() {
			d = time.Now()
		}
		added = append(added, field{"Date", d.Format(dateLayout)})
	}
	if opts.MessageIDField == FieldAlways || (!hasMsgID && opts.MessageIDField == FieldAuto) {
		// The Message-ID domain comes from the author's address.
		idFrom := sender.Address
		if optFrom != nil && (!hasFrom || opts.FromField == FieldAlways) {
			idFrom = optFrom.Address
		}
		for _, f := range kept {
			if f.lower == "from" {
				if as, err := mail.ParseAddressList(strings.TrimSpace(f.value)); err == nil && len(as) > 0 {
					idFrom = as[0].Address
				}
				break
			}
		}
		id, _ := messageID("", idFrom)
		added = append(added, field{"Message-ID", id})
	}

	var hb bytes.Buffer
	for _, f := range kept {
		hb.Write(f.raw)
	}
	if err := writeFields(&hb, added); err != nil {
		return nil, &InputError{Field: "header", Problem: err.Error(), Fix: "check the From address"}
	}
	p.header = hb.Bytes()

	m := &Message{
		env:      envelope(sender.Address, rcpts),
		prepared: p,
	}
	for _, a := range append([]string{m.env.From}, m.env.To...) {
		if !isASCII(a) {
			m.smtputf8 = true
		}
	}
	return m, nil
}

// headerLine is one header field as read: its raw bytes (continuation
// lines included, CRLF-terminated) and its unfolded value.
type headerLine struct {
	lower string
	raw   []byte
	value string
}

func parseHeaderList(f headerLine) ([]*mail.Address, error) {
	as, err := mail.ParseAddressList(strings.TrimSpace(f.value))
	if err != nil {
		name := string(f.raw[:bytes.IndexByte(f.raw, ':')])
		return nil, &InputError{
			Field:   fmt.Sprintf("header %q", strings.TrimSpace(name)),
			Problem: fmt.Sprintf("does not hold a valid address list (%v)", err),
			Fix:     `fix the field in the message; addresses look like "Name <user@example.com>"`,
			Err:     err,
		}
	}
	return as, nil
}

// parseLocalList reads an address list that may hold local names ("root",
// "Root <root>"), which mail.ParseAddressList refuses: each comma-separated
// element is an address or a local name. When an element is neither, the
// original error strict is returned.
func parseLocalList(value string, strict error) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, err := mail.ParseAddress(part); err == nil {
			out = append(out, a)
			continue
		}
		name := part
		if i := strings.LastIndexByte(part, '<'); i >= 0 && strings.HasSuffix(part, ">") {
			name = part[i+1 : len(part)-1]
		}
		if name == "" || strings.ContainsAny(name, " \t<>()[]\\,;:\"@") {
			return nil, strict
		}
		out = append(out, &mail.Address{Address: name})
	}
	return out, nil
}

// prepared is the state of a prepared message.
type prepared struct {
	header       []byte // final header section, blank line included
	body         *bufio.Reader
	hasBody      bool // a blank line separated header and body
	used         bool
	headerUTF8   bool // RFC 6532 raw UTF-8 in the header
	declared8bit bool
	saw8bit      bool
}

// readHeader reads header lines up to the blank line (RFC 5322 section
// 2.2), normalising line ends to CRLF.
func (p *prepared) readHeader(br *bufio.Reader, limit int) ([]headerLine, error) {
	var fields []headerLine
	// A folded field's value is unfolded once, when the field ends, not
	// line by line (+= copied it again at each of up to 1 MiB of lines).
	folded := false
	unfold := func() []headerLine {
		if folded {
			f := &fields[len(fields)-1]
			f.value = string(bytes.ReplaceAll(f.raw[bytes.IndexByte(f.raw, ':')+1:len(f.raw)-2], []byte("\r\n"), nil))
			folded = false
		}
		return fields
	}
	lines := headerblock.NewLines(br, limit, maxPreparedLine)
	var line []byte
	for lineNo := 1; ; lineNo++ {
		var err error
		line, err = lines.Append(line[:0])
		where := fmt.Sprintf("message line %d", lineNo)
		var long *headerblock.LongLineError
		switch {
		case errors.As(err, &long):
			return nil, &InputError{Field: where, Problem: long.Error(), Fix: "fold long header fields (RFC 5322 section 2.2.3)"}
		case errors.As(err, new(*headerblock.TooLargeError)):
			return nil, &InputError{Field: "message", Problem: fmt.Sprintf("header section is larger than %d bytes", limit), Fix: "check that the input is a mail message with a blank line after its header"}
		case err == io.EOF:
			// End of input inside (or instead of) the header.
			if len(fields) == 0 {
				return nil, &InputError{Field: "message", Problem: "is empty", Fix: "give a message that starts with header fields such as From: and Subject:"}
			}
			return unfold(), nil
		case err != nil:
			return nil, &SourceError{Source: "message", Err: err}
		}
		content := bytes.TrimSuffix(line, []byte{'\n'})
		content = bytes.TrimSuffix(content, []byte{'\r'})
		if i := bytes.IndexByte(content, '\r'); i >= 0 {
			return nil, &InputError{Field: where, Problem: "contains a bare carriage return (CR) in the header", Fix: "end header lines with LF or CRLF only"}
		}
		if bytes.IndexByte(content, 0) >= 0 {
			return nil, &InputError{Field: where, Problem: "contains a NUL byte in the header", Fix: "remove it; the input may not be a mail message"}
		}
		if !isASCII(string(content)) {
			p.headerUTF8 = true
		}
		if len(content) == 0 {
			p.hasBody = true
			return unfold(), nil
		}
		if content[0] == ' ' || content[0] == '\t' {
			if len(fields) == 0 {
				return nil, &InputError{Field: where, Problem: "the message starts with a continuation line", Fix: "the first line must be a header field such as From: ..."}
			}
			f := &fields[len(fields)-1]
			f.raw = append(append(f.raw, content...), '\r', '\n')
			folded = true
		} else {
			unfold()
			colon := bytes.IndexByte(content, ':')
			name := string(bytes.TrimRight(content[:max0(colon)], " \t"))
			if colon < 0 || !validFieldName(name) {
				fix := `each header line must be "Name: value", and a blank line must separate header and body`
				if lineNo == 1 && bytes.HasPrefix(content, []byte("From ")) {
					fix = `remove the mbox "From " line at the top`
				}
				return nil, &InputError{Field: where, Problem: fmt.Sprintf("%q is not a header field", truncate(string(content), 60)), Fix: fix}
			}
			raw := make([]byte, 0, len(content)+2)
			raw = append(append(raw, content...), '\r', '\n')
			fields = append(fields, headerLine{lower: strings.ToLower(name), raw: raw, value: string(content[colon+1:])})
		}
	}
}

func (p *prepared) writeTo(w io.Writer) error {
	if p.used {
		return UsedError{}
	}
	p.used = true
	if _, err := w.Write(p.header); err != nil {
		return err
	}
	if !p.hasBody {
		return nil
	}
	cw := crlfWriter{w: w}
	_, err := copySource(&cw, p.body, "message body")
	if cw.saw8bit {
		p.saw8bit = true
	}
	if err != nil {
		return err
	}
	return cw.Close()
}

// validFieldName reports whether s is an RFC 5322 section 2.2 field-name.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
