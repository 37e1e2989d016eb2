// Package message builds the bytes that tlsmail hands to the SMTP DATA
// command, and the envelope that goes with them.
//
// There are two ways in:
//
//   - Compose turns a Spec (sender, recipients, subject, a text body, an
//     optional HTML alternative, attachments) into an RFC 5322 message with
//     RFC 2045-2049 MIME structure. Headers are 7-bit: non-ASCII subjects and
//     display names become RFC 2047 encoded-words, non-ASCII file names use
//     RFC 2231 parameters, text bodies that are not plain ASCII are
//     quoted-printable and attachments are base64, encoded on the fly while
//     the message is written (files are never read whole into memory).
//   - Prepare takes a finished message from a reader (a file or stdin, as
//     "sendmail -t" does): it keeps the header bytes as given, strips Bcc,
//     adds Date, Message-ID and From when missing, can collect the
//     recipients from the header, and streams the body through with bare
//     CR and LF turned into CRLF.
//
// Both return a *Message: an io.WriterTo that produces CRLF-terminated lines
// (the SMTP client adds dot-stuffing and the final "." line, RFC 5321
// section 4.5.2), its Envelope (reverse-path and deduplicated forward-paths,
// Bcc included), the SMTP extensions it needs (SMTPUTF8, 8BITMIME) and, when
// it can be known without sending, its exact size for the SIZE parameter
// (RFC 1870).
//
// Bad input (a CR or LF in a subject, an address that does not parse, a
// header that would duplicate one this package writes) is reported as an
// *InputError naming the field, the problem and the fix; the CLI maps it to a
// usage error.
package message
