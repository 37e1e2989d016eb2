// Package downgrade rewrites a message header that holds raw UTF-8 (RFC
// 6532) into 7-bit form, for a server that does not offer SMTPUTF8 (RFC
// 6531) while every envelope address is ASCII. It applies RFC 6857 section
// 3's downgrade of header fields at submission instead of after delivery:
// unstructured text and display names become RFC 2047 encoded-words,
// MIME parameters RFC 2231 extended values, and a mailbox whose address
// itself is not ASCII becomes the display name of an empty group. Only the
// header block is read and rewritten (bounded); the body streams through
// unchanged.
package downgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tlsmail/tlsmail/internal/headerblock"
)

// MaxLine is the longest line RFC 5322 section 2.1.1 allows, without its
// CRLF.
const MaxLine = 998

// foldAt is the line length folding aims for (RFC 5322 section 2.1.1's
// "SHOULD be no more than 78 characters").
const foldAt = 78

// Error says why a header could not be downgraded.
type Error struct {
	// Field is the header field's name, or "" for the header as a whole.
	Field   string
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "downgrading the header for a server without SMTPUTF8: " + e.Problem
	}
	return fmt.Sprintf("downgrading header field %s for a server without SMTPUTF8: %s", e.Field, e.Problem)
}

// Stats says what a downgrade changed besides the text.
type Stats struct {
	// Grew is how many bytes longer the header became (negative when
	// shorter).
	Grew int64
	// BrokenDKIM names the rewritten fields that a DKIM-Signature field
	// of the header lists in its h= tag (RFC 6376 section 3.5): the
	// signature no longer verifies, and a verifier treats the message
	// as unsigned (section 6.1), which a DMARC policy of the From domain
	// may then reject.
	BrokenDKIM []string
}

// Reader reads the header block of the message in r (up to the first empty
// line, at most limit bytes) and returns a reader of the whole message with
// that header downgraded to 7-bit (see Header) and the rest of r after it,
// unread and unchanged, and what the downgrade changed. A header longer
// than limit, or one that cannot be downgraded, is an *Error; a read
// failure of r is returned as it is.
func Reader(r io.Reader, limit int) (io.Reader, Stats, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	hdr, err := headerblock.Read(br, limit)
	var big *headerblock.TooLargeError
	if errors.As(err, &big) {
		return nil, Stats{}, &Error{Problem: big.Error()}
	}
	if err != nil {
		return nil, Stats{}, err
	}
	out, broken, err := header(hdr)
	if err != nil {
		return nil, Stats{}, err
	}
	return io.MultiReader(bytes.NewReader(out), br), Stats{Grew: int64(len(out) - len(hdr)), BrokenDKIM: broken}, nil
}

// Header returns hdr, a header block (fields and, when present, the empty
// line that ends it), with every field that holds a byte above 127
// rewritten in 7-bit form and folded into lines of at most MaxLine
// characters (aiming at 78), every encoded-word at most 75 (RFC 2047
// section 2). Fields that are ASCII already are kept byte for byte.
//
//   - Address fields (From, Sender, Reply-To, To, Cc, Bcc and their
//     Resent- forms): display names become encoded-words (RFC 2047 section
//     5(3)); a mailbox whose address is not ASCII becomes an empty group
//     whose display name is the encoded mailbox (RFC 6857 section 3),
//     so no reader takes a wrong address from it.
//   - Content-Type and Content-Disposition: parameters with non-ASCII
//     values become RFC 2231 extended values.
//   - Message-ID, In-Reply-To, References and Resent-Message-ID: renamed
//     Downgraded-<name> (their syntax has no encoded form) and encoded as
//     unstructured text.
//   - Any other field is unstructured text (RFC 5322 section 3.2.5):
//     each run of words with non-ASCII characters becomes encoded-words
//     (RFC 2047 section 5(1)); ASCII words stay as they are.
//
// Text that is valid UTF-8 is labelled UTF-8; other 8-bit bytes are
// labelled unknown-8bit (RFC 1428), as their charset cannot be known.
func Header(hdr []byte) ([]byte, error) {
	out, _, err := header(hdr)
	return out, err
}

// header is Header, and the rewritten fields that a DKIM-Signature field
// signs (Stats.BrokenDKIM).
func header(hdr []byte) ([]byte, []string, error) {
	var out bytes.Buffer
	out.Grow(len(hdr) + len(hdr)/2)
	var field []byte
	var rewritten, signed []string
	flush := func() error {
		if len(field) == 0 {
			return nil
		}
		defer func() { field = field[:0] }()
		name, value, _ := strings.Cut(string(field), ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "dkim-signature" {
			signed = append(signed, dkimSigned(value)...)
		}
		if isASCII(field) {
			out.Write(field)
			return nil
		}
		rewritten = append(rewritten, name)
		return rewrite(&out, field)
	}
	for rest := hdr; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		if headerblock.IsBlank(line) {
			if err := flush(); err != nil {
				return nil, nil, err
			}
			out.Write(line)
			out.Write(rest) // nothing after the empty line belongs to the header
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		field = append(field, line...)
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	var broken []string
	for _, n := range rewritten {
		if slices.Contains(signed, n) && !slices.Contains(broken, n) {
			broken = append(broken, n)
		}
	}
	return out.Bytes(), broken, nil
}

// dkimSigned is the lower-case field names of the h= tag (RFC 6376
// section 3.5) of a DKIM-Signature value.
func dkimSigned(value string) []string {
	var names []string
	for _, tag := range strings.Split(value, ";") {
		k, v, ok := strings.Cut(tag, "=")
		if !ok || strings.TrimSpace(k) != "h" {
			continue
		}
		for _, n := range strings.Split(v, ":") {
			names = append(names, strings.ToLower(strings.Trim(n, " \t\r\n")))
		}
	}
	return names
}

// token is one piece of a rewritten field: sep is the white space before
// it, where a line may be folded ("" when it must not be).
type token struct{ sep, text string }

func rewrite(out *bytes.Buffer, raw []byte) error {
	colon := bytes.IndexByte(raw, ':')
	if colon <= 0 {
		return &Error{Problem: fmt.Sprintf("%q is not a header field", clip(string(raw)))}
	}
	name := strings.TrimRight(string(raw[:colon]), " \t")
	if !isASCII([]byte(name)) {
		return &Error{Problem: fmt.Sprintf("the field name %q is not ASCII", clip(name))}
	}
	// Unfolding (RFC 5322 section 2.2.3): remove the line breaks.
	value := strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(string(raw[colon+1:]))
	value = strings.Trim(value, " \t")
	var toks []token
	switch strings.ToLower(name) {
	case "from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc":
		toks = addressList(value)
	case "content-type", "content-disposition":
		toks = mimeValue(value)
	case "message-id", "in-reply-to", "references", "resent-message-id":
		name = "Downgraded-" + name
		toks = unstructured(value)
	default:
		toks = unstructured(value)
	}
	return fold(out, name, toks)
}

// fold writes name, a colon and toks, breaking lines before a token's
// separator when the line would pass foldAt (RFC 5322 section 2.2.3).
func fold(out *bytes.Buffer, name string, toks []token) error {
	line := name + ":"
	filled := false // the line holds a token: it may be broken after it
	for i, t := range toks {
		sep := t.sep
		if i == 0 && sep == "" {
			sep = " "
		}
		if filled && sep != "" && t.text != "" && len(line)+len(sep)+len(t.text) > foldAt {
			if len(line) > MaxLine {
				return &Error{Field: name, Problem: fmt.Sprintf("a word of %d bytes does not fit a line of %d", len(line), MaxLine)}
			}
			out.WriteString(line)
			out.WriteString("\r\n")
			line = ""
		}
		line += sep + t.text
		filled = filled || t.text != ""
	}
	if len(line) > MaxLine {
		return &Error{Field: name, Problem: fmt.Sprintf("a word of %d bytes does not fit a line of %d", len(line), MaxLine)}
	}
	out.WriteString(line)
	out.WriteString("\r\n")
	return nil
}

// unstructured splits s into words at white space and encodes each run of
// words holding non-ASCII bytes, with the white space inside the run, as
// encoded-words: white space between two encoded-words is dropped when
// decoding (RFC 2047 section 6.2), so the run is encoded whole, and the
// white space between an encoded-word and an ASCII word is kept.
func unstructured(s string) []token {
	type word struct {
		sep, text string
		enc       bool
	}
	var words []word
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if j > i {
			words = append(words, word{sep: s[:i], text: s[i:j], enc: !isASCII([]byte(s[i:j]))})
		}
		s = s[j:]
	}
	var toks []token
	for i := 0; i < len(words); {
		w := words[i]
		if !w.enc {
			toks = append(toks, token{w.sep, w.text})
			i++
			continue
		}
		var run strings.Builder // not +=: a run may hold a whole 2 MiB field
		first := w.sep
		if i > 0 && first != "" && isEncodedWord(words[i-1].text) {
			// The white space between two encoded-words is dropped
			// when decoding (RFC 2047 section 6.2): the space after
			// an encoded-word the text already had goes inside.
			run.WriteString(first)
			first = " "
		}
		run.WriteString(w.text)
		j := i + 1
		for ; j < len(words) && words[j].enc; j++ {
			run.WriteString(words[j].sep)
			run.WriteString(words[j].text)
		}
		if j < len(words) && words[j].sep != "" && isEncodedWord(words[j].text) {
			run.WriteString(words[j].sep) // and so does the space before one
			words[j].sep = " "
		}
		for k, ew := range encodeWords(run.String()) {
			sep := " "
			if k == 0 {
				sep = first
			}
			toks = append(toks, token{sep, ew})
		}
		i = j
	}
	return toks
}

// isEncodedWord reports whether the ASCII word w has the shape of an
// RFC 2047 encoded-word, "=?charset?encoding?text?=" (section 2), which
// a decoder would decode.
func isEncodedWord(w string) bool {
	return len(w) >= 8 && strings.HasPrefix(w, "=?") && strings.HasSuffix(w, "?=") && strings.Count(w, "?") >= 4 && isASCII([]byte(w))
}

// encodeWords encodes s as encoded-words of at most 75 characters (RFC
// 2047 section 2): Q encoding for mostly-ASCII text, B for the rest
// (whichever is shorter, as section 4 suggests).
func encodeWords(s string) []string {
	charset := "UTF-8"
	if !utf8.ValidString(s) {
		charset = "unknown-8bit"
	}
	high := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			high++
		}
	}
	enc := mime.QEncoding
	if high*3 > len(s) {
		enc = mime.BEncoding
	}
	return strings.Split(enc.Encode(charset, s), " ")
}

// addressList downgrades an address list (RFC 5322 section 3.4), groups
// included: a group's display name is a phrase, whose words become
// encoded-words (RFC 2047 section 5(3)), and its members are mailboxes.
// It goes from group to group in a loop, so that the cost stays linear in
// the length of the list whatever the number of groups.
func addressList(s string) []token {
	var toks []token
	for {
		s = strings.Trim(s, " \t,")
		if s == "" {
			return toks
		}
		colon := indexOutside(s, ':')
		if colon < 0 {
			return appendList(toks, mailboxes(s))
		}
		semi := indexOutside(s[colon+1:], ';')
		if semi < 0 {
			return appendList(toks, unstructured(s)) // not a well-formed group
		}
		semi += colon + 1
		name := s[:colon]
		if k := lastIndexOutside(name, ','); k >= 0 {
			toks = appendList(toks, mailboxes(name[:k]))
			name = name[k+1:]
		}
		group := unstructured(strings.TrimSpace(name))
		if len(group) == 0 {
			group = []token{{" ", ""}}
		}
		if members := mailboxes(s[colon+1 : semi]); len(members) > 0 {
			group[len(group)-1].text += ":"
			group = append(group, members...)
			group[len(group)-1].text += ";"
		} else {
			group[len(group)-1].text += ":;"
		}
		toks = appendList(toks, group)
		s = s[semi+1:]
	}
}

// appendList appends the list elements b to a, with a comma between.
func appendList(a, b []token) []token {
	if len(a) > 0 && len(b) > 0 {
		a[len(a)-1].text += ","
		if b[0].sep == "" {
			b[0].sep = " "
		}
	}
	return append(a, b...)
}

// mailboxes downgrades a list of mailboxes, no group among them. A list
// that net/mail cannot parse as a whole (an encoded-word in a charset it
// does not know, such as koi8-r, or one malformed mailbox) is taken
// mailbox by mailbox, so that the others keep their addresses.
func mailboxes(s string) []token {
	if strings.Trim(s, " \t,") == "" {
		return nil
	}
	list, err := mail.ParseAddressList(s)
	if err != nil || len(list) == 0 {
		return eachMailbox(s)
	}
	var toks []token
	for _, a := range list {
		toks = appendList(toks, mailbox(a))
	}
	return toks
}

// eachMailbox downgrades the mailboxes of s, split at the commas outside
// quoted strings, comments and angle brackets, one by one: an ASCII one is
// kept as it was (it is 7-bit already), one that parses is written again,
// and any other becomes an empty group (emptyGroup).
func eachMailbox(s string) []token {
	var toks []token
	for len(s) > 0 {
		piece := s
		if i := indexOutside(s, ','); i >= 0 {
			piece, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		piece = strings.Trim(piece, " \t")
		if piece == "" {
			continue
		}
		var at []token
		if isASCII([]byte(piece)) {
			for _, w := range strings.Split(piece, " ") {
				at = append(at, token{" ", w})
			}
		} else if a, err := mail.ParseAddress(piece); err == nil {
			at = mailbox(a)
		} else {
			at = emptyGroup(piece)
		}
		toks = appendList(toks, at)
	}
	return toks
}

// mailbox downgrades one parsed mailbox.
func mailbox(a *mail.Address) []token {
	var at []token
	if isASCII([]byte(a.Address)) {
		// String encodes a non-ASCII name as Q encoded-words of
		// at most 75 characters and quotes an ASCII one as needed.
		for _, w := range strings.Split(a.String(), " ") {
			at = append(at, token{" ", w})
		}
		return at
	}
	m := "<" + a.Address + ">"
	if a.Name != "" {
		m = a.Name + " " + m
	}
	return emptyGroup(m)
}

// emptyGroup is RFC 6857 section 3's form for a mailbox that cannot be
// written in ASCII: an empty group whose display name is the encoded text
// (RFC 6854 allows group syntax in From and Sender for this).
func emptyGroup(s string) []token {
	var toks []token
	for _, w := range encodeWords(s) {
		toks = append(toks, token{" ", w})
	}
	return append(toks, token{" ", ":;"})
}

// indexOutside is the index of the first c in s outside quoted strings,
// comments and angle brackets, or -1.
func indexOutside(s string, c byte) int {
	quoted, angle, comment := false, false, 0
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case (quoted || comment > 0) && b == '\\':
			i++
		case b == '"' && comment == 0:
			quoted = !quoted
		case quoted:
		case b == '(':
			comment++
		case b == ')' && comment > 0:
			comment--
		case comment > 0:
		case b == '<':
			angle = true
		case b == '>':
			angle = false
		case b == c && !angle:
			return i
		}
	}
	return -1
}

// lastIndexOutside is the index of the last c in s outside quoted strings,
// comments and angle brackets, or -1.
func lastIndexOutside(s string, c byte) int {
	last := -1
	for off := 0; ; {
		i := indexOutside(s[off:], c)
		if i < 0 {
			return last
		}
		last = off + i
		off = last + 1
	}
}

// mimeValue downgrades a Content-Type or Content-Disposition value: its
// parameters are written again (in name order, as mime.FormatMediaType
// does), non-ASCII ones as RFC 2231 extended values and any value too long
// for one line as RFC 2231 continuations (sections 3 and 4), so that no
// line passes MaxLine and each may be folded. A value that does not parse
// (a raw UTF-8 value without quotes, as some mailers write a file name) is
// rewritten parameter by parameter (mimeParams), so that the media type,
// the charset and the boundary keep their meaning.
func mimeValue(s string) []token {
	mt, params, err := mime.ParseMediaType(s)
	if err != nil || mime.FormatMediaType(mt, nil) == "" {
		return mimeParams(s)
	}
	toks := []token{{" ", mime.FormatMediaType(mt, nil)}}
	for _, attr := range slices.Sorted(maps.Keys(params)) {
		pt := paramTokens(attr, params[attr])
		if pt == nil {
			return mimeParams(s)
		}
		toks[len(toks)-1].text += ";"
		toks = append(toks, pt...)
	}
	return toks
}

// paramTokens writes parameter attr=value: as it is (a token or a quoted
// string) when it is ASCII and short, else as RFC 2231 pieces (see
// continuations). It is nil when attr is not a token.
func paramTokens(attr, value string) []token {
	if isASCII([]byte(value)) {
		f := mime.FormatMediaType("x/y", map[string]string{attr: value})
		if f == "" {
			return nil
		}
		if f = strings.TrimPrefix(f, "x/y; "); len(f) <= segmentLen || strings.Contains(f, "*=") {
			return []token{{" ", f}}
		}
	} else if mime.FormatMediaType("x/y", map[string]string{attr: "a"}) == "" {
		return nil
	}
	var toks []token
	for i, p := range continuations(attr, value) {
		if i > 0 {
			toks[i-1].text += ";"
		}
		toks = append(toks, token{" ", p})
	}
	return toks
}

// segmentLen is the longest parameter piece continuations writes, so that
// a piece, its indent and its ";" fit a line of foldAt.
const segmentLen = 72

// continuations writes parameter attr with the (unquoted) value in RFC
// 2231 form. A value that fits one piece is one piece: `attr="value"` for
// ASCII, else the extended value `attr*=` with the charset, two
// apostrophes and the value percent-encoded (section 4). A longer value is
// cut, between characters, into numbered continuations (section 3):
// `attr*0="…"`, `attr*1="…"`, … for ASCII, or, with section 4's encoding,
// `attr*0*=` (charset, two apostrophes, …), `attr*1*=…`, … (only the first
// piece names the charset; section 4.1). Each piece stays within
// segmentLen bytes, so a 300-character file name folds into short lines
// instead of one line past RFC 5322's 998.
func continuations(attr, value string) []string {
	ascii := isASCII([]byte(value))
	charset := "utf-8"
	if !utf8.ValidString(value) {
		charset = "unknown-8bit"
	}
	enc := func(r string) string {
		var b strings.Builder
		for i := 0; i < len(r); i++ {
			c := r[i]
			switch {
			case ascii && (c == '"' || c == '\\'):
				b.WriteByte('\\')
				b.WriteByte(c)
			case ascii:
				b.WriteByte(c)
			case c > ' ' && c < 0x7f && !strings.ContainsRune("()<>@,;:\\\"/[]?=*'%", rune(c)):
				// attribute-char (RFC 2231 section 7): a token
				// character other than "*", "'" and "%".
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	piece := func(n int, body string) string {
		switch {
		case ascii && n < 0:
			return attr + `="` + body + `"`
		case ascii:
			return fmt.Sprintf(`%s*%d="%s"`, attr, n, body)
		case n < 0:
			return attr + "*=" + charset + "''" + body
		case n == 0:
			return attr + "*0*=" + charset + "''" + body
		}
		return fmt.Sprintf("%s*%d*=%s", attr, n, body)
	}
	if p := piece(-1, enc(value)); len(p) <= segmentLen {
		return []string{p}
	}
	var out []string
	body := ""
	for rest := value; rest != ""; {
		_, size := utf8.DecodeRuneInString(rest)
		e := enc(rest[:size])
		if body != "" && len(piece(len(out), body+e)) > segmentLen {
			out = append(out, piece(len(out), body))
			body = ""
		}
		body += e
		rest = rest[size:]
	}
	return append(out, piece(len(out), body))
}

// mimeParams rewrites a MIME value that mime.ParseMediaType refused: it
// is split at the semicolons outside quoted strings and comments; an ASCII
// piece is kept as it is, an attribute=value piece whose value is not
// ASCII becomes an RFC 2231 extended value (section 4: "attribute*=", the
// charset, two apostrophes, the value percent-encoded; the quotes of a
// quoted value removed), and
// any other piece is encoded as unstructured text.
func mimeParams(s string) []token {
	var toks []token
	for first := true; ; first = false {
		piece, rest, more := s, "", false
		if i := indexOutside(s, ';'); i >= 0 {
			piece, rest, more = s[:i], s[i+1:], true
		}
		piece = strings.Trim(piece, " \t")
		var pt []token
		switch attr, value, ok := strings.Cut(piece, "="); {
		case isASCII([]byte(piece)):
			if piece != "" {
				pt = []token{{" ", piece}}
			}
		case !first && ok && isASCII([]byte(attr)) && strings.TrimSpace(attr) != "":
			for i, p := range continuations(strings.TrimRight(strings.TrimSpace(attr), "*"), unquote(strings.TrimSpace(value))) {
				if i > 0 {
					pt[i-1].text += ";"
				}
				pt = append(pt, token{" ", p})
			}
		default:
			pt = unstructured(piece)
		}
		if more && len(pt) > 0 {
			pt[len(pt)-1].text += ";"
		}
		toks = append(toks, pt...)
		if !more {
			return toks
		}
		s = rest
	}
}

// unquote removes the quotes of a quoted-string value (RFC 5322 section
// 3.2.4) and the backslashes of its quoted pairs; any other value is
// returned as it is.
func unquote(value string) string {
	if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
		return value
	}
	var b strings.Builder
	for i := 1; i < len(value)-1; i++ {
		if value[i] == '\\' && i+1 < len(value)-1 {
			i++
		}
		b.WriteByte(value[i])
	}
	return b.String()
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
