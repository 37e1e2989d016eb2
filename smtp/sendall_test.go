package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// outcome is what SendAll's done reported for one message.
type outcome struct {
	i   int
	res *Result
	err error
}

// sendAll runs SendAll over envs (each with msg as content) and collects
// every done call.
func sendAll(t *testing.T, c *Client, envs []Envelope) ([]outcome, int, error) {
	t.Helper()
	var got []outcome
	taken := 0
	next := func() (Envelope, io.Reader, error) {
		if taken == len(envs) {
			return Envelope{}, nil, io.EOF
		}
		taken++
		return envs[taken-1], strings.NewReader(msg), nil
	}
	done := func(i int, res *Result, err error) { got = append(got, outcome{i, res, err}) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.SendAll(ctx, next, done)
	return got, taken, err
}

func envTo(n int) []Envelope {
	envs := make([]Envelope, n)
	for i := range envs {
		envs[i] = Envelope{From: "a@example.org", To: []string{fmt.Sprintf("r%d@example.org", i)}}
	}
	return envs
}

// replyCode is the code of the reply an error carries, or 0.
func replyCode(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Reply != nil {
		return e.Reply.Code
	}
	return 0
}

// The scripted server answers the end of one message's data only after it
// has read the next message's MAIL, RCPT and DATA: a client that waited for
// the reply to the end of data before sending the next envelope would
// stall (and time out). Each message's outcome must be the one the server
// gave that message: accepted, every recipient refused, 452 at the end of
// data, MAIL refused (with RSET leading the flight after the transactions
// that ended early), and a message refused locally before any byte is sent.
func TestSendAllOverlapsAndMapsResults(t *testing.T) {
	data := make(chan string, 3)
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		// message 0
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<r0@example.org>")
		p.expect("DATA")
		p.send("250 ok\r\n250 ok\r\n354 go\r\n")
		data <- p.data()
		// the end of message 0 and the envelope of message 1, one flight
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<r1@example.org>")
		p.expect("DATA")
		p.send("250 ok: m0\r\n250 ok\r\n550 5.1.1 no such user\r\n554 no valid recipients\r\n")
		// message 2, after a transaction that stopped early: RSET leads
		p.expect("RSET")
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<r2@example.org>")
		p.expect("DATA")
		p.send("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n")
		data <- p.data()
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<r3@example.org>")
		p.expect("DATA")
		p.send("452 4.3.1 out of storage: m2\r\n550 5.7.1 sender refused\r\n503 5.5.1 no sender\r\n503 5.5.1 no recipients\r\n")
		p.expect("RSET")
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<r4@example.org>")
		p.expect("DATA")
		p.send("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n")
		data <- p.data()
		p.send("250 ok: m4\r\n")
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	envs := envTo(6)
	envs[5].To = nil // refused before anything is sent
	got, taken, err := sendAll(t, c, envs)
	if err != nil {
		t.Fatalf("SendAll: %v", err)
	}
	if taken != 6 || len(got) != 6 {
		t.Fatalf("took %d messages, %d done calls; want 6 and 6", taken, len(got))
	}
	for i, o := range got {
		if o.i != i {
			t.Fatalf("done call %d is for message %d", i, o.i)
		}
	}
	tests := []struct {
		name     string
		kind     Kind // "": success
		code     int  // the reply code the error carries
		response string
	}{
		{"accepted", "", 0, "m0"},
		{"every recipient refused", KindRejected, 550, ""},
		{"452 at the end of data", KindRejected, 452, ""},
		{"MAIL refused", KindRejected, 550, ""},
		{"accepted after RSET", "", 0, "m4"},
		{"no recipients", KindUsage, 0, ""},
	}
	for i, tt := range tests {
		o := got[i]
		if tt.kind == "" {
			if o.err != nil {
				t.Errorf("message %d (%s): %v", i, tt.name, o.err)
				continue
			}
			if !strings.Contains(o.res.Response.Text(), tt.response) || len(o.res.Accepted) != 1 {
				t.Errorf("message %d (%s): result %+v", i, tt.name, o.res)
			}
			continue
		}
		if e := wantKind(t, o.err, tt.kind); replyCode(e) != tt.code {
			t.Errorf("message %d (%s): reply %v, want code %d", i, tt.name, e.Reply, tt.code)
		}
	}
	if len(got[1].res.Rejected) != 1 || got[1].res.Rejected[0].Addr != "r1@example.org" {
		t.Errorf("message 1: rejected %+v", got[1].res.Rejected)
	}
	if r := got[2].res.Response; r == nil || !strings.Contains(r.Text(), "m2") {
		t.Errorf("message 2: response %v, want the 452 naming m2", r)
	}
	for i := 0; i < 3; i++ {
		if d := <-data; d != msg {
			t.Errorf("stored message %d: %q", i, d)
		}
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Error(err)
	}
}

// When the connection drops after the flight that carries the end of one
// message and the next envelope, the first gets the network error (it may
// have been delivered), the second gets no done call (it was not), and
// SendAll stops taking messages.
func TestSendAllSessionLost(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL FROM:")
		p.expect("RCPT TO:")
		p.expect("DATA")
		p.send("250 ok\r\n250 ok\r\n354 go\r\n")
		p.data()
		p.expect("MAIL FROM:")
		p.expect("RCPT TO:<r1@example.org>")
		p.expect("DATA")
		// hang up without a reply
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, taken, err := sendAll(t, c, envTo(3))
	wantKind(t, err, KindNetwork)
	if taken != 2 {
		t.Errorf("took %d messages, want 2", taken)
	}
	if len(got) != 1 || got[0].i != 0 {
		t.Fatalf("done calls %+v, want one for message 0", got)
	}
	wantKind(t, got[0].err, KindNetwork)
}

// Without PIPELINING, SendAll sends each message in turn, and a refusal
// concerns its message alone.
func TestSendAllSequential(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo()
		p.expect("MAIL FROM:")
		p.send("250 ok\r\n")
		p.expect("RCPT TO:<r0@example.org>")
		p.send("550 no such user\r\n")
		p.expect("RSET")
		p.send("250 reset\r\n")
		p.expect("MAIL FROM:")
		p.send("250 ok\r\n")
		p.expect("RCPT TO:<r1@example.org>")
		p.send("250 ok\r\n")
		p.expect("DATA")
		p.send("354 go\r\n")
		p.data()
		p.send("250 ok: m1\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := sendAll(t, c, envTo(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("done calls %+v", got)
	}
	wantKind(t, got[0].err, KindRejected)
	if got[1].err != nil || !strings.Contains(got[1].res.Response.Text(), "m1") {
		t.Errorf("message 1: %+v %v", got[1].res, got[1].err)
	}
	c.Close()
}

// A message source that fails (next returns an error other than io.EOF)
// stops the batch: the message before it still gets its final reply and
// its done call, SendAll returns an *Error of KindUsage that wraps the
// source's error, and the session stays usable (QUIT is answered), with
// and without PIPELINING.
func TestSendAllNextErrorStopsBatch(t *testing.T) {
	errSource := errors.New("queue unreadable")
	for _, pipelining := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				if !pipelining {
					p.ehlo("8BITMIME")
					p.envelope()
					p.envelope()
				} else {
					p.ehlo("PIPELINING")
					p.expect("MAIL FROM:")
					p.expect("RCPT TO:<r0@example.org>")
					p.expect("DATA")
					p.send("250 ok\r\n250 ok\r\n354 go\r\n")
					p.data()
					p.expect("MAIL FROM:")
					p.expect("RCPT TO:<r1@example.org>")
					p.expect("DATA")
					p.send("250 ok: m0\r\n250 ok\r\n250 ok\r\n354 go\r\n")
					p.data()
					p.send("250 ok: m1\r\n")
				}
				p.expect("QUIT")
				p.send("221 bye\r\n")
			})
			c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			envs := envTo(2)
			calls := 0
			next := func() (Envelope, io.Reader, error) {
				calls++
				if calls > len(envs) {
					return Envelope{}, nil, errSource
				}
				return envs[calls-1], strings.NewReader(msg), nil
			}
			var got []outcome
			done := func(i int, res *Result, err error) { got = append(got, outcome{i, res, err}) }
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = c.SendAll(ctx, next, done)
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindUsage || e.Op != "next message" || !errors.Is(err, errSource) {
				t.Fatalf("SendAll error = %#v (%v); want *Error of KindUsage, Op \"next message\", wrapping the source's error", err, err)
			}
			if calls != 3 {
				t.Errorf("next called %d times after it failed; want it not called again (3 calls)", calls)
			}
			if len(got) != 2 {
				t.Fatalf("%d done calls, want 2 (the messages before the failure): %+v", len(got), got)
			}
			for i, o := range got {
				if o.i != i || o.err != nil || o.res == nil || o.res.Response == nil || o.res.Response.Code != 250 {
					t.Errorf("done call %d: message %d, result %+v, error %v; want message %d accepted", i, o.i, o.res, o.err, i)
				}
			}
			if err := c.Quit(ctx); err != nil {
				t.Errorf("QUIT after the source failed: %v; the session should still be open", err)
			}
		})
	}
}
