package smtp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/message"
)

// endless is a message body that never ends: a program's output piped
// into `tlsmail send --message -` that does not stop.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "y\r\n"[i%3]
	}
	return len(p) - len(p)%3, nil
}

// TestDataStopsAtServerSizeLimit sends messages that never end to a server
// that announced SIZE 100000 and reads whatever comes (as go-smtp and
// Postfix do, until the end marker, to answer 552 then). The client used to
// stream until the connection failed; now it stops once the message has
// passed the limit, closes the connection without the end marker, so that
// nothing is delivered, and reports a rejection that names the limit.
func TestDataStopsAtServerSizeLimit(t *testing.T) {
	const limit = 100000
	tests := []struct {
		name string
		msg  func(t *testing.T) io.Reader
	}{
		{"raw stream", func(t *testing.T) io.Reader {
			return io.MultiReader(strings.NewReader("Subject: x\r\n\r\n"), endless{})
		}},
		{"prepared message", func(t *testing.T) io.Reader {
			m, err := message.Prepare(io.MultiReader(strings.NewReader("From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\n"), endless{}),
				message.PrepareOptions{ExtractRecipients: true})
			if err != nil {
				t.Fatal(err)
			}
			return m.Reader()
		}},
		{"prepared message, 8-bit", func(t *testing.T) io.Reader {
			m, err := message.Prepare(io.MultiReader(strings.NewReader("From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nGrüße\n"), endless{}),
				message.PrepareOptions{ExtractRecipients: true})
			if err != nil {
				t.Fatal(err)
			}
			return m.Reader()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []byte, 1)
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				p.ehlo("SIZE 100000", "8BITMIME")
				p.expect("MAIL FROM:")
				p.send("250 ok\r\n")
				p.expect("RCPT TO:")
				p.send("250 ok\r\n")
				p.expect("DATA")
				p.send("354 go ahead\r\n")
				// Until the client closes; a client that goes on past
				// four times the limit is cut off.
				b, _ := io.ReadAll(io.LimitReader(p.br, 4*limit))
				got <- b
			})
			c, err := dial(t, addr, &Config{Mode: None})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(t.Context(), Envelope{From: "a@example.org", To: []string{"b@example.org"}, Size: -1}, tc.msg(t))
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindRejected || e.Op != "DATA" || !strings.Contains(e.Error(), "100000 bytes") {
				t.Fatalf("Send = %v, want a DATA rejection naming the limit", err)
			}
			b := <-got
			if bytes.HasSuffix(b, []byte("\r\n.\r\n")) {
				t.Error("the data ended with the end marker: the server would take the truncated message")
			}
			// The message's bytes stop at the limit; dot-stuffing and
			// line-end repair may add to what went over the wire.
			if len(b) > 2*limit {
				t.Errorf("the server read %d bytes of data; the limit is %d", len(b), limit)
			}
		})
	}
}
