package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on what a server may send in one reply, so that a hostile server
// cannot make the client allocate without bound. RFC 5321 section 4.5.3.1.5
// limits a reply line to 512 octets; real servers exceed that a little.
const (
	maxLineLength   = 4096
	maxReplyLines   = 256
	readBufferBytes = 4096
)

var (
	errLineTooLong  = errors.New("reply line longer than 4096 bytes")
	errTooManyLines = errors.New("reply with more than 256 lines")
	errMalformed    = errors.New("malformed reply")
)

// Reply is one SMTP reply, possibly multi-line (RFC 5321 section 4.2).
type Reply struct {
	Code int `json:"code"`
	// Enhanced is the RFC 3463 enhanced status code ("2.0.0"), when the
	// server sent one.
	Enhanced string `json:"enhanced,omitempty"`
	// Lines are the texts of each line, without code, separator or status.
	Lines []string `json:"lines"`
}

// Text returns the lines joined with spaces.
func (r *Reply) Text() string { return strings.Join(r.Lines, " ") }

// String returns "250 2.0.0 text" for display.
func (r *Reply) String() string {
	if r == nil {
		return ""
	}
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	if t := r.Text(); t != "" {
		s += " " + t
	}
	return s
}

// WireLines returns the reply as the server sent it, one string a line:
// "250-first", "250 2.0.0 last" (RFC 5321 section 4.2.1; the enhanced
// code, RFC 3463, on every line). A reply without text is one line.
func (r *Reply) WireLines() []string {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		s := strconv.Itoa(r.Code) + sep
		if r.Enhanced != "" {
			s += r.Enhanced + " "
		}
		out[i] = s + l
	}
	return out
}

// Positive reports a 2xx or 3xx reply.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// readReply reads one reply. Every physical line is passed to onLine (for
// the transcript) before parsing.
func readReply(br *bufio.Reader, onLine func([]byte)) (*Reply, error) {
	r := &Reply{}
	for n := 0; ; n++ {
		if n >= maxReplyLines {
			return nil, errTooManyLines
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errLineTooLong
		}
		if err != nil {
			if len(line) > 0 && onLine != nil {
				onLine(line)
			}
			return nil, err
		}
		if onLine != nil {
			onLine(line)
		}
		code, more, text, err := parseLine(line)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			r.Code = code
		} else if code != r.Code {
			return nil, fmt.Errorf("%w: line %d has code %d after %d", errMalformed, n+1, code, r.Code)
		}
		r.Lines = append(r.Lines, text)
		if !more {
			break
		}
	}
	r.splitEnhanced()
	return r, nil
}

func parseLine(line []byte) (code int, more bool, text string, err error) {
	s := strings.TrimRight(string(line), "\r\n")
	if len(s) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", errMalformed, s)
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, "", fmt.Errorf("%w: %q does not start with a 3-digit code", errMalformed, truncate(s))
		}
	}
	code, _ = strconv.Atoi(s[:3])
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("%w: code %d out of range", errMalformed, code)
	}
	if len(s) == 3 {
		return code, false, "", nil
	}
	switch s[3] {
	case ' ':
	case '-':
		more = true
	default:
		return 0, false, "", fmt.Errorf("%w: %q", errMalformed, truncate(s))
	}
	return code, more, s[4:], nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// splitEnhanced moves an RFC 3463 status code that matches the reply's
// class from the text of the first line into Enhanced, and strips it from
// the following lines.
func (r *Reply) splitEnhanced() {
	for i, l := range r.Lines {
		f, rest, _ := strings.Cut(l, " ")
		if !isEnhanced(f, r.Code) {
			if i == 0 {
				return
			}
			continue
		}
		if i == 0 {
			r.Enhanced = f
		}
		r.Lines[i] = rest
	}
}

func isEnhanced(s string, code int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || parts[0][0] != byte('0'+code/100) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// extensions parses an EHLO reply (RFC 5321 section 4.1.1.1): the first
// line is the greeting, each other line a keyword and its parameters.
func extensions(r *Reply) map[string]string {
	ext := map[string]string{}
	for _, l := range r.Lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k == "" {
			continue
		}
		k = strings.ToUpper(k)
		if k == "AUTH" {
			if prev, ok := ext[k]; ok { // some servers repeat AUTH, also as AUTH=
				v = prev + " " + v
			}
		}
		if strings.HasPrefix(k, "AUTH=") { // pre-RFC form, e.g. "AUTH=LOGIN PLAIN"
			v = strings.TrimPrefix(k, "AUTH=") + " " + v
			k = "AUTH"
			if prev, ok := ext[k]; ok {
				v = prev + " " + v
			}
		}
		ext[k] = strings.TrimSpace(v)
	}
	return ext
}
