package message

import (
	"io"
	"time"
)

// Spec describes a message to compose. From and at least one of To, Cc or
// Bcc are required; everything else is optional.
//
// Address fields take RFC 5322 addresses ("Ann <ann@example.com>" or a bare
// "ann@example.com"); one entry may hold a comma-separated list.
type Spec struct {
	// From is the author (RFC 5322 section 3.6.2) and, through Envelope,
	// the SMTP reverse-path. Exactly one address.
	From string

	// To and Cc are written into the header; Bcc is never written, but its
	// addresses are envelope recipients (RFC 5322 section 3.6.3).
	To, Cc, Bcc []string

	// ReplyTo, if set, is written as Reply-To.
	ReplyTo []string

	// Subject is plain text; non-ASCII text is written as RFC 2047
	// encoded-words.
	Subject string

	// Text is the text/plain body. TextFile, if set, names a file whose
	// content is the body instead; it is read while the message is written.
	// Line endings (LF or CRLF) are normalised to CRLF.
	Text     string
	TextFile string

	// HTML (or the file HTMLFile) is a text/html alternative to the text
	// body; with both, the body is multipart/alternative (RFC 2046 section
	// 5.1.4), text first.
	HTML     string
	HTMLFile string

	// Attachments follow the body in a multipart/mixed message (RFC 2046
	// section 5.1.3), base64 encoded while writing.
	Attachments []Attachment

	// Headers are extra header fields, written after the standard ones in
	// order. Fields this package writes itself (From, To, Cc, Bcc,
	// Reply-To, Subject, Date, Message-ID, MIME-Version, Content-*) are
	// refused: use the Spec fields. Non-ASCII values are written as RFC
	// 2047 encoded-words, which suits unstructured fields (X-*, Comments).
	Headers []Header

	// ExpandRecipient, when set, replaces each entry of To, Cc and Bcc
	// that is one local name (no '@', such as "root") by the addresses
	// it gives (msmtp's aliases; see config.AliasExpander), in the
	// header as in the envelope, since a bare name is no address in a
	// header field. An entry with '@', ',' or '<' is kept as written.
	// Its error is returned as is.
	ExpandRecipient func(addr string) ([]string, error)

	// Date is the origination date (RFC 5322 section 3.6.1); zero means
	// the time of Compose.
	Date time.Time

	// MessageID is the Message-ID (RFC 5322 section 3.6.4), with or
	// without angle brackets; empty means a random one in the From domain.
	MessageID string
}

// Attachment is one file attached to a composed message. Give either Path
// or Open.
type Attachment struct {
	// Path is a regular file, opened by Compose and then (and streamed)
	// every time the message is written.
	Path string

	// Open, used when Path is empty, returns a fresh reader of the content.
	// It is called once per write, once by Compose to check that the
	// content can be opened before anything is sent, and once more by
	// Compose when the content type has to be sniffed (no ContentType,
	// unknown extension); each reader is closed.
	Open func() (io.ReadCloser, error)

	// Size is the exact number of bytes Open's reader yields, if known (a
	// positive value). It lets Message.Size be exact without reading.
	Size int64

	// Name is the file name offered to the recipient; default: the base
	// name of Path. Non-ASCII names use RFC 2231 parameters.
	Name string

	// ContentType is the MIME type; default: by the Name's extension
	// (mime.TypeByExtension), else sniffed from the first 512 bytes: the
	// magic numbers of common files (PDF, PNG, JPEG, GIF, ZIP, gzip...),
	// then text/plain; charset=utf-8 for UTF-8 text without control
	// bytes, else application/octet-stream.
	ContentType string
}

// Header is one extra header field.
type Header struct {
	Name, Value string
}
