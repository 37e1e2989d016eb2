// Package transcript writes the session log: one line per command and reply,
// with its direction and byte count, and the TLS events in between.
//
//	C: 16 bytes: EHLO example.org
//	S: 23 bytes: 250-mail.example.org
//	*  TLS handshake done: TLS 1.3, TLS_AES_128_GCM_SHA256
//
// Secrets never reach it: the SMTP client marks the lines of an AUTH exchange
// as secret and the log writes only their length and the mechanism name. A nil
// *Log is valid and writes nothing, so callers need no checks.
package transcript

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

// Log writes a transcript to an io.Writer. It is safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	// Elapsed, when true, prefixes each line with the time since New.
	Elapsed bool
	err     error
}

// New returns a Log writing to w.
func New(w io.Writer) *Log {
	return &Log{w: w, start: time.Now()}
}

// Redacted is what a secret line is replaced with.
const Redacted = "[redacted]"

// Client records a line the client sent. line is the raw bytes on the wire,
// including CRLF.
func (l *Log) Client(line []byte) { l.wire("C", line) }

// Server records a line the server sent.
func (l *Log) Server(line []byte) { l.wire("S", line) }

// ClientSecret records a client line whose content must not be shown: the
// byte count is kept, the content replaced by keep (for example "AUTH PLAIN")
// followed by Redacted.
func (l *Log) ClientSecret(line []byte, keep string) {
	if l == nil {
		return
	}
	text := Redacted
	if keep != "" {
		text = keep + " " + Redacted
	}
	l.printf("C: %d bytes: %s", len(line), text)
}

// ServerRedacted records a server line with every occurrence of secrets
// replaced by Redacted (see Redact): a server may repeat what the client
// sent in a secret line. The byte count is the line's on the wire.
func (l *Log) ServerRedacted(line []byte, secrets []string) {
	if l == nil {
		return
	}
	l.printf("S: %d bytes: %s", len(line), safetext.Line([]byte(Redact(string(line), secrets))))
}

// Redact returns s with every occurrence of each of secrets replaced by
// Redacted; empty secrets are skipped.
func Redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, Redacted)
		}
	}
	return s
}

// ClientData records a block of message data by size only.
func (l *Log) ClientData(n int64, what string) {
	if l == nil {
		return
	}
	l.printf("C: %d bytes: %s", n, what)
}

// Event records something that is not a protocol line: a connection, a TLS
// handshake, a verdict. Control characters in the result are escaped, like
// those of protocol lines (safetext.Quote), since events quote the peer:
// certificate names, error texts.
func (l *Log) Event(format string, args ...any) {
	if l == nil {
		return
	}
	l.printf("*  %s", safetext.Quote(fmt.Sprintf(format, args...)))
}

// Err returns the first error the underlying writer returned, if any.
func (l *Log) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// wire records a protocol line without its line ending and with control
// bytes escaped (safetext.Line), so that a hostile server cannot write
// terminal escapes or forge lines into the log.
func (l *Log) wire(dir string, line []byte) {
	if l == nil {
		return
	}
	l.printf("%s: %d bytes: %s", dir, len(line), safetext.Line(line))
}

func (l *Log) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	var b strings.Builder
	if l.Elapsed {
		fmt.Fprintf(&b, "[%8.3fs] ", time.Since(l.start).Seconds())
	}
	fmt.Fprintf(&b, format, args...)
	b.WriteByte('\n')
	_, l.err = io.WriteString(l.w, b.String())
}
