package smtp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// step is one command the scripted server expects and its reply.
type step struct{ cmd, reply string }

// answer plays steps: one reply per command without PIPELINING; with it,
// every command of the flight first and then the replies (RFC 2920). A
// 421 reply ends the script (the server closes the connection).
func answer(p *peer, pipelining bool, steps []step) (closed bool) {
	if pipelining {
		for _, s := range steps {
			p.expect(s.cmd)
		}
	}
	for _, s := range steps {
		if !pipelining {
			p.expect(s.cmd)
		}
		p.send(s.reply)
		if strings.HasPrefix(s.reply, "421") {
			return true
		}
	}
	return false
}

// The contract of Send's Result when err is not nil, as its doc comment
// states it: which fields hold what the server said, for a DATA refused
// after some recipients were accepted, a 421 in the middle of the
// envelope, a refused end of data, a connection lost before the reply to
// the end of data (the uncertain case), and an envelope refused locally.
func TestSendResultWithError(t *testing.T) {
	envelope := []step{
		{"MAIL FROM:<a@example.org>", "250 ok\r\n"},
		{"RCPT TO:<r1@example.org>", "250 ok\r\n"},
		{"RCPT TO:<r2@example.org>", "550 5.1.1 no such user\r\n"},
		{"RCPT TO:<r3@example.org>", "250 ok\r\n"},
	}
	tests := []struct {
		name string
		// steps answer the envelope; then, if data, the server reads the
		// data and sends final ("" closes the connection instead).
		steps []step
		data  bool
		final string
		to    []string

		noResult     bool
		kind         Kind
		op           string
		code         int // the error's reply code
		accepted     []string
		rejected     []string
		responseCode int // 0: Response nil
		sentData     bool
		closed       bool // the Client is closed afterwards
		anyClosed    bool // do not check closed
	}{
		{name: "DATA refused after some RCPTs were accepted",
			steps: append(slices.Clone(envelope), step{"DATA", "451 4.3.0 try later\r\n"}),
			kind:  KindRejected, op: "DATA", code: 451,
			accepted: []string{"r1@example.org", "r3@example.org"}, rejected: []string{"r2@example.org"}},
		{name: "421 in the middle of the envelope",
			steps: []step{
				{"MAIL FROM:<a@example.org>", "250 ok\r\n"},
				{"RCPT TO:<r1@example.org>", "250 ok\r\n"},
				{"RCPT TO:<r2@example.org>", "421 4.3.2 shutting down\r\n"},
				{"RCPT TO:<r3@example.org>", ""},
				{"DATA", ""},
			},
			kind: KindUnavailable, op: "RCPT TO", code: 421,
			accepted: []string{"r1@example.org"}, closed: true},
		{name: "end of data refused",
			steps: append(slices.Clone(envelope), step{"DATA", "354 go\r\n"}),
			data:  true, final: "554 5.7.1 spam\r\n",
			kind: KindRejected, op: "end of data", code: 554,
			accepted: []string{"r1@example.org", "r3@example.org"}, rejected: []string{"r2@example.org"},
			responseCode: 554, sentData: true},
		{name: "connection lost before the reply to the end of data",
			steps: append(slices.Clone(envelope), step{"DATA", "354 go\r\n"}),
			data:  true, final: "",
			op:       "end of data",
			accepted: []string{"r1@example.org", "r3@example.org"}, rejected: []string{"r2@example.org"},
			sentData: true, anyClosed: true},
		{name: "envelope refused before anything is sent",
			to:       []string{"bad\r\naddress@example.org"},
			noResult: true, kind: KindUsage},
	}
	for _, tt := range tests {
		for _, pipelining := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				addr := scripted(t, func(p *peer) {
					p.send("220 hi\r\n")
					if pipelining {
						p.ehlo("PIPELINING")
					} else {
						p.ehlo("8BITMIME")
					}
					if tt.steps == nil {
						p.expect("QUIT")
						p.send("221 bye\r\n")
						return
					}
					if answer(p, pipelining, tt.steps) {
						return
					}
					if tt.data {
						p.data()
						if tt.final == "" {
							return // close without a reply
						}
						p.send(tt.final)
					}
					p.line() // RSET or QUIT: the session may go on
				})
				c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				to := tt.to
				if to == nil {
					to = []string{"r1@example.org", "r2@example.org", "r3@example.org"}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				res, err := c.Send(ctx, Envelope{From: "a@example.org", To: to}, strings.NewReader(msg))
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v; want an *Error", err)
				}
				if tt.noResult {
					if res != nil {
						t.Errorf("Result = %+v; want nil (nothing reached the server)", res)
					}
					if e.Kind != tt.kind {
						t.Errorf("kind %q, want %q", e.Kind, tt.kind)
					}
					c.Quit(ctx)
					return
				}
				if res == nil {
					t.Fatalf("Result nil with err %v; want what the server said", err)
				}
				if e.Op != tt.op || (tt.kind != "" && e.Kind != tt.kind) || replyCode(err) != tt.code {
					t.Errorf("err = %v (kind %q, op %q, code %d); want kind %q, op %q, code %d",
						err, e.Kind, e.Op, replyCode(err), tt.kind, tt.op, tt.code)
				}
				if !slices.Equal(res.Accepted, tt.accepted) {
					t.Errorf("Accepted = %v, want %v", res.Accepted, tt.accepted)
				}
				var rejected []string
				for _, r := range res.Rejected {
					rejected = append(rejected, r.Addr)
				}
				if !slices.Equal(rejected, tt.rejected) {
					t.Errorf("Rejected = %v, want %v", rejected, tt.rejected)
				}
				switch {
				case tt.responseCode == 0 && res.Response != nil:
					t.Errorf("Response = %v, want nil", res.Response)
				case tt.responseCode != 0 && (res.Response == nil || res.Response.Code != tt.responseCode):
					t.Errorf("Response = %v, want code %d", res.Response, tt.responseCode)
				}
				if tt.sentData != (res.Bytes > 0) {
					t.Errorf("Bytes = %d; want data sent: %v", res.Bytes, tt.sentData)
				}
				if closed := c.conn == nil; !tt.anyClosed && closed != tt.closed {
					t.Errorf("Client closed: %v, want %v", closed, tt.closed)
				}
			})
		}
	}
}
