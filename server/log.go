package server

import (
	"github.com/tlsmail/tlsmail/internal/safetext"

	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// lockedWriter serialises writes from concurrent sessions.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func newLockedWriter(w io.Writer) *lockedWriter {
	if w == nil {
		return nil
	}
	return &lockedWriter{w: w}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logger writes one timestamped line per event to Config.Log.
type logger struct {
	w *lockedWriter // nil: discard
}

func (l *logger) printf(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	// Addresses, HELO names and errors come from clients: quote control
	// characters so that nobody can write terminal escapes into the log.
	line := time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + safetext.Quote(strings.TrimRight(fmt.Sprintf(format, args...), "\n")) + "\n"
	l.w.Write([]byte(line))
}

// errorLog adapts logger to go-smtp's Logger (internal errors of a
// connection). Errors caused by Close closing connections are not news.
type errorLog struct {
	log     *logger
	id      int
	closing <-chan struct{}
}

func (e errorLog) Printf(format string, v ...any) { e.emit(fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.emit(fmt.Sprintln(v...)) }

func (e errorLog) emit(msg string) {
	select {
	case <-e.closing:
		return
	default:
	}
	e.log.printf("[c%d] smtp: %s", e.id, strings.TrimSpace(msg))
}

// maxTraceLine bounds one line of the debug trace; the rest of a longer
// line is dropped (marked "[...]").
const maxTraceLine = 1024

// traceWriter receives go-smtp's raw debug stream of one connection (bytes
// read from and written to the client, in order) and writes it line by line
// as "C: " and "S: " lines, with SASL exchanges redacted: the initial
// response on the AUTH line and every client line until the server's
// final (non-334) reply are replaced. Message data (after 354) is shown as
// client lines.
type traceWriter struct {
	out    io.Writer
	prefix string

	buf      []byte
	skipping bool // the current line overflowed maxTraceLine
	inData   bool // between 354 and the "." line
	inAuth   bool // between AUTH and its final reply
}

func newTraceWriter(out io.Writer, prefix string) *traceWriter {
	return &traceWriter{out: out, prefix: prefix}
}

// Write never fails: a trace must not break the session.
func (t *traceWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !t.skipping {
				t.buf = append(t.buf, p...)
				if len(t.buf) > maxTraceLine {
					t.line(t.buf[:maxTraceLine], true)
					t.buf = t.buf[:0]
					t.skipping = true
				}
			}
			break
		}
		if !t.skipping {
			t.buf = append(t.buf, p[:i]...)
			if len(t.buf) > maxTraceLine {
				t.line(t.buf[:maxTraceLine], true)
			} else {
				t.line(t.buf, false)
			}
		}
		t.buf = t.buf[:0]
		t.skipping = false
		p = p[i+1:]
	}
	return n, nil
}

// flush writes an incomplete last line, if any.
func (t *traceWriter) flush() {
	if len(t.buf) > 0 && !t.skipping {
		t.line(t.buf, true)
	}
	t.buf = t.buf[:0]
}

// isReply reports whether l looks like an SMTP reply line: three digits
// followed by space, hyphen or nothing (RFC 5321 section 4.2).
func isReply(l string) bool {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '-'
}

func (t *traceWriter) line(raw []byte, cut bool) {
	l := strings.TrimSuffix(string(raw), "\r")
	dir := "C: "
	switch {
	case t.inData:
		if l == "." {
			t.inData = false
		}
	case isReply(l):
		dir = "S: "
		switch l[:3] {
		case "354":
			t.inData = true
		case "334":
		default:
			t.inAuth = false
		}
	case t.inAuth:
		l, cut = "[redacted SASL response]", false
	case len(l) >= 5 && strings.EqualFold(l[:5], "AUTH "):
		t.inAuth = true
		if f := strings.Fields(l); len(f) > 2 || cut {
			mech := ""
			if len(f) > 1 {
				mech = f[1] + " "
			}
			l, cut = f[0]+" "+mech+"[redacted initial response]", false
		}
	}
	var b strings.Builder
	b.WriteString(t.prefix)
	b.WriteString(dir)
	b.WriteString(safetext.Quote(l))
	if cut {
		b.WriteString(" [...]")
	}
	b.WriteByte('\n')
	io.WriteString(t.out, b.String())
}
