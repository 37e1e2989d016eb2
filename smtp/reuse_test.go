package smtp

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// After a transaction that stopped before the data (every recipient
// refused), the next Send resets the session, and with PIPELINING the
// RSET travels in the same flight as MAIL, RCPT and DATA (RFC 2920 section
// 3.1): the scripted server reads all four before it answers any, so a
// client that waited for the RSET reply would stall and time out. A
// transaction that ended with the reply to the data needs no RSET (RFC
// 5321 section 4.1.1.4): the third flight starts with MAIL.
func TestPipelinedRSETAfterUnfinishedTransaction(t *testing.T) {
	got := make(chan string, 2)
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<b@example.org>")
		p.expect("DATA")
		p.send("250 ok\r\n550 5.1.1 no such user\r\n554 no valid recipients\r\n")
		p.expect("RSET")
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<c@example.org>")
		p.expect("DATA")
		p.send("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n")
		got <- p.data()
		p.send("250 ok: second\r\n")
		p.expect("MAIL FROM:<a@example.org>")
		p.expect("RCPT TO:<d@example.org>")
		p.expect("DATA")
		p.send("250 ok\r\n250 ok\r\n354 go\r\n")
		got <- p.data()
		p.send("250 ok: third\r\n")
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c, "b@example.org")
	wantKind(t, err, KindRejected)
	for i, to := range []string{"c@example.org", "d@example.org"} {
		res, err := send(t, c, to)
		if err != nil {
			t.Fatalf("message %d: %v", i+2, err)
		}
		if d := <-got; d != msg {
			t.Errorf("message %d: server got %q", i+2, d)
		}
		if want := []string{"second", "third"}[i]; !strings.Contains(res.Response.Text(), want) {
			t.Errorf("message %d: response %q, want %q", i+2, res.Response.Text(), want)
		}
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Error(err)
	}
}

// Without PIPELINING, the RSET after an unfinished transaction is its own
// round trip; a caller's own Reset is not repeated.
func TestSequentialRSETAfterUnfinishedTransaction(t *testing.T) {
	tests := []struct {
		name string
		// resetCall: the caller resets explicitly between the messages,
		// so Send must not send a second RSET.
		resetCall bool
	}{
		{"Send resets", false},
		{"caller resets", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				p.ehlo()
				p.expect("MAIL")
				p.send("451 try again\r\n")
				// Exactly one RSET, answered before MAIL is sent.
				p.expect("RSET")
				p.send("250 ok\r\n")
				p.envelope()
				// Then no RSET after a finished transaction.
				p.envelope()
			})
			c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := send(t, c); err == nil {
				t.Fatal("the refused MAIL did not fail the send")
			}
			if tt.resetCall {
				if err := c.Reset(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 2 {
				if _, err := send(t, c); err != nil {
					t.Fatalf("message %d: %v", i+2, err)
				}
			}
		})
	}
}

// A refused RSET in the pipelined flight is a protocol error; the client
// still reads every reply and ends the DATA the server opened, so the
// session does not fall out of step.
func TestPipelinedRSETRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL")
		p.expect("RCPT")
		p.expect("DATA")
		p.send("250 ok\r\n550 no\r\n554 no valid recipients\r\n")
		p.expect("RSET")
		p.expect("MAIL")
		p.expect("RCPT")
		p.expect("DATA")
		p.send("500 what\r\n250 ok\r\n250 ok\r\n354 go\r\n")
		if d := p.data(); d != "" {
			p.t.Errorf("the aborted DATA carried %q", d)
		}
		p.send("250 ok\r\n")
		p.expect("RSET")
		p.send("250 ok\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c)
	wantKind(t, err, KindRejected)
	_, err = send(t, c)
	e := wantKind(t, err, KindProtocol)
	if e.Op != "RSET" || e.Reply == nil || e.Reply.Code != 500 {
		t.Errorf("error = %+v, want the RSET reply 500", e)
	}
}

// SendAndQuit sends QUIT right after the end of the data when the server
// offers PIPELINING: the scripted server reads QUIT before it answers the
// message, so a client waiting for the 250 first would stall.
func TestSendAndQuit(t *testing.T) {
	tests := []struct {
		name       string
		pipelining bool
		quitReply  string
		quitFails  bool
	}{
		{"pipelined", true, "221 bye\r\n", false},
		{"pipelined, QUIT refused", true, "500 no\r\n", true},
		{"sequential", false, "221 bye\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var exts []string
			if tt.pipelining {
				exts = append(exts, "PIPELINING")
			}
			closed := make(chan error, 1)
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				p.ehlo(exts...)
				p.expect("MAIL")
				if !tt.pipelining {
					p.send("250 ok\r\n")
				}
				p.expect("RCPT")
				if !tt.pipelining {
					p.send("250 ok\r\n")
				}
				p.expect("DATA")
				if tt.pipelining {
					p.send("250 ok\r\n250 ok\r\n")
				}
				p.send("354 go\r\n")
				p.data()
				if tt.pipelining {
					p.expect("QUIT")
					p.send("250 ok: queued\r\n" + tt.quitReply)
				} else {
					p.send("250 ok: queued\r\n")
					p.expect("QUIT")
					p.send(tt.quitReply)
				}
				// The client closes the connection: the next read ends.
				_, err := p.br.ReadByte()
				closed <- err
			})
			c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.SendAndQuit(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}}, strings.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Response.Text(), "queued") {
				t.Errorf("response = %q", res.Response.Text())
			}
			if (res.QuitErr != nil) != tt.quitFails {
				t.Errorf("QuitErr = %v, want failure %v", res.QuitErr, tt.quitFails)
			}
			if err := <-closed; err != io.EOF {
				t.Errorf("server's read after QUIT: %v, want EOF (connection closed)", err)
			}
			if _, err := send(t, c); err == nil {
				t.Error("Send after SendAndQuit succeeded; the session should be closed")
			}
		})
	}
}

// A refused transaction in SendAndQuit is the send's error, and the
// session still ends with QUIT.
func TestSendAndQuitRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		p.expect("MAIL")
		p.expect("RCPT")
		p.expect("DATA")
		p.send("550 no\r\n503 no\r\n503 no\r\n")
		p.expect("QUIT")
		p.send("221 bye\r\n")
	})
	c, err := dial(t, addr, &Config{Mode: None, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendAndQuit(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}}, strings.NewReader(msg))
	wantKind(t, err, KindRejected)
}
