package smtp

import (
	"errors"
	"strings"
	"testing"
)

// TestClosingReplyInEnvelope: a server that answers a command of the
// envelope with 421 and closes the connection. The error is that reply,
// with its text, for the command it answered — not "DATA: EOF" from
// reading on for the replies that never come — and it is temporary.
func TestClosingReplyInEnvelope(t *testing.T) {
	const text = "421 4.7.0 mx.example.org too many errors, closing"
	tests := []struct {
		name       string
		pipelining bool
		script     func(p *peer)
		op         string
	}{
		{"pipelined, second RCPT", true, func(p *peer) {
			p.expect("MAIL FROM:")
			p.expect("RCPT TO:")
			p.expect("RCPT TO:")
			p.expect("DATA")
			p.send("250 2.1.0 ok\r\n250 2.1.5 ok\r\n" + text + "\r\n")
		}, "RCPT TO"},
		{"pipelined, MAIL", true, func(p *peer) {
			p.expect("MAIL FROM:")
			p.send(text + "\r\n")
		}, "MAIL FROM"},
		{"sequential, second RCPT", false, func(p *peer) {
			p.expect("MAIL FROM:")
			p.send("250 2.1.0 ok\r\n")
			p.expect("RCPT TO:")
			p.send("250 2.1.5 ok\r\n")
			p.expect("RCPT TO:")
			p.send(text + "\r\n")
		}, "RCPT TO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := make(chan string, 1)
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				if tc.pipelining {
					p.ehlo("PIPELINING")
				} else {
					p.ehlo()
				}
				tc.script(p)
				p.conn.(interface{ CloseWrite() error }).CloseWrite()
				after <- p.line()
			})
			c, err := dial(t, addr, &Config{Mode: None})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SendAndQuit(t.Context(), Envelope{From: "a@example.org", To: []string{"b@example.org", "c@example.org"}},
				strings.NewReader(msg))
			var e *Error
			if !errors.As(err, &e) || e.Reply == nil || e.Reply.Code != 421 || e.Op != tc.op {
				t.Fatalf("err = %v, want the 421 reply to %s", err, tc.op)
			}
			if !strings.Contains(err.Error(), "too many errors") || !e.Temporary() || e.Fix == "" {
				t.Errorf("err = %v (temporary %v, fix %q): want the server's text, temporary, a fix", err, e.Temporary(), e.Fix)
			}
			if l := <-after; l == "QUIT" {
				t.Error("the client said QUIT after 421")
			}
		})
	}
}
