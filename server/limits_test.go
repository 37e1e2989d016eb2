package server_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/server"
)

// The tests in this file are the lock-out cases of issue 11: clients that
// hold sessions open by dripping bytes or by staying busy, and clients that
// guess passwords. On Linux every 127.0.0.0/8 address is loopback, so
// 127.0.0.2 and 127.0.0.3 act as other hosts.

// dialFrom connects to addr from the local address ip (port chosen by the
// system).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: ioDeadline, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	c.SetDeadline(time.Now().Add(ioDeadline))
	t.Cleanup(func() { c.Close() })
	return c
}

// drip writes one byte of line every interval (then starts over) until the
// connection fails or stop is closed: a client that is never idle long
// enough for a per-read timeout and never finishes a command.
func drip(c net.Conn, line string, interval time.Duration, stop <-chan struct{}) {
	for i := 0; ; i++ {
		if _, err := c.Write([]byte{line[i%len(line)]}); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
	}
}

// readUntilClosed reads replies until the server closes the connection and
// returns them; a read that times out (ioDeadline) fails the test, since
// the server was meant to hang up long before.
func readUntilClosed(t *testing.T, c io.Reader) []string {
	t.Helper()
	br := bufio.NewReader(c)
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if l != "" {
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server did not hang up within %v; it sent %q", ioDeadline, lines)
			}
			return lines
		}
	}
}

func TestOneAddressCannotTakeEverySlot(t *testing.T) {
	t.Parallel()
	// MaxSessionsPerAddr is left at its default: half of MaxSessions.
	s := start(t, func(c *server.Config) { c.MaxSessions = 4 })
	stop := make(chan struct{})
	defer close(stop)

	// Four slow-drip clients from one host: two get in, two are refused.
	var held []net.Conn
	for i := range 4 {
		c := dialFrom(t, "127.0.0.1", s.SMTPAddr())
		code, msg, err := textproto.NewReader(bufio.NewReader(c)).ReadResponse(0)
		switch {
		case i < 2 && code == 220:
			held = append(held, c)
			go drip(c, "NOOP\r\n", 50*time.Millisecond, stop)
		case i >= 2 && code == 421 && strings.Contains(msg, "from your address"):
		default:
			t.Fatalf("drip client %d from 127.0.0.1 got %d %q (%v)", i, code, msg, err)
		}
	}

	// Another host is still served, on both listeners.
	other := newRaw(t, dialFrom(t, "127.0.0.2", s.SMTPAddr()))
	other.expect(220)
	other.ehlo()
	other.cmd(221, "QUIT")
	tc := tls.Client(dialFrom(t, "127.0.0.3", s.SMTPSAddr()), &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"})
	r := newRaw(t, tc)
	r.expect(220)
	r.cmd(221, "QUIT")

	// When a drip client leaves, its address gets its slot back.
	held[0].Close()
	deadline := time.Now().Add(ioDeadline)
	for {
		c := dialFrom(t, "127.0.0.1", s.SMTPAddr())
		code, msg, _ := textproto.NewReader(bufio.NewReader(c)).ReadResponse(0)
		c.Close()
		if code == 220 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one drip client left, 127.0.0.1 still gets %d %q", code, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSessionTimeoutEndsBusySessions(t *testing.T) {
	t.Parallel()
	const limit = time.Second
	var log testbuf.Buffer
	s := start(t, func(c *server.Config) {
		c.SessionTimeout = limit
		c.ReadTimeout = time.Minute // far longer: only the session limit can end these
		c.Log = &log
	})
	tlsConf := &tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"}
	t.Run("group", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			conn func(t *testing.T) net.Conn // connected, greeting read
			busy func(c net.Conn, stop <-chan struct{})
		}{
			{"NOOP after NOOP", func(t *testing.T) net.Conn { return greeted(t, dialFrom(t, "127.0.0.1", s.SMTPAddr())) },
				func(c net.Conn, stop <-chan struct{}) { drip(c, "NOOP\r\n", 10*time.Millisecond, stop) }},
			{"one endless line, a byte at a time", func(t *testing.T) net.Conn { return greeted(t, dialFrom(t, "127.0.0.1", s.SMTPAddr())) },
				func(c net.Conn, stop <-chan struct{}) { drip(c, "X", 50*time.Millisecond, stop) }},
			{"NOOPs over implicit TLS", func(t *testing.T) net.Conn {
				return greeted(t, tls.Client(dialFrom(t, "127.0.0.1", s.SMTPSAddr()), tlsConf))
			}, func(c net.Conn, stop <-chan struct{}) { drip(c, "NOOP\r\n", 10*time.Millisecond, stop) }},
			{"endless DATA", func(t *testing.T) net.Conn {
				c := greeted(t, dialFrom(t, "127.0.0.1", s.SMTPAddr()))
				r := newRaw(t, c)
				r.ehlo()
				r.cmd(250, "MAIL FROM:<a@example.com>")
				r.cmd(250, "RCPT TO:<b@example.com>")
				r.cmd(354, "DATA")
				return c
			}, func(c net.Conn, stop <-chan struct{}) { drip(c, "line\r\n", 10*time.Millisecond, stop) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := tc.conn(t)
				stop := make(chan struct{})
				defer close(stop)
				go tc.busy(c, stop)
				lines := readUntilClosed(t, c)
				if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "421 ") {
					t.Errorf("the session ended without a 421; last replies %q", tail(lines))
				}
			})
		}
	})
	if n := len(mustMessages(t, s)); n != 0 {
		t.Errorf("%d messages stored from an endless DATA", n)
	}
	if !strings.Contains(log.String(), "session time limit") {
		t.Errorf("log does not say why the sessions ended:\n%s", log.String())
	}
}

// greeted reads the 220 greeting on c.
func greeted(t *testing.T, c net.Conn) net.Conn {
	t.Helper()
	c.SetDeadline(time.Now().Add(ioDeadline))
	br := bufio.NewReaderSize(c, 1) // read no further than the greeting
	l, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q, %v", l, err)
	}
	return c
}

func tail(lines []string) []string {
	if len(lines) > 3 {
		return lines[len(lines)-3:]
	}
	return lines
}

// TestReadTimeoutIsPerCommand shows that ReadTimeout bounds a whole command
// line, a whole DATA and a whole TLS handshake, not each read: a client
// that drips a byte well inside ReadTimeout still runs out of time.
func TestReadTimeoutIsPerCommand(t *testing.T) {
	t.Parallel()
	s := start(t, func(c *server.Config) { c.ReadTimeout = time.Second })
	t.Run("group", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			addr  string
			setup func(r *raw)
			line  string
		}{
			{"command line", s.SMTPAddr(), nil, "NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP\r\n"},
			{"DATA", s.SMTPAddr(), func(r *raw) {
				r.ehlo()
				r.cmd(250, "MAIL FROM:<a@example.com>")
				r.cmd(250, "RCPT TO:<b@example.com>")
				r.cmd(354, "DATA")
			}, strings.Repeat("a line\r\n", 100) + ".\r\n"},
			{"TLS handshake", s.SMTPSAddr(), nil, "\x16\x03\x01\x02\x00" + strings.Repeat("\x01", 512)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := dialFrom(t, "127.0.0.1", tc.addr)
				if tc.addr == s.SMTPAddr() {
					r := newRaw(t, c)
					r.expect(220)
					if tc.setup != nil {
						tc.setup(r)
					}
				}
				stop := make(chan struct{})
				defer close(stop)
				// 100 ms a byte: every read is answered in time, the
				// line (many times ReadTimeout) is not.
				dripped := make(chan struct{})
				go func() {
					defer close(dripped)
					for i := 0; i < len(tc.line); i++ {
						if _, err := c.Write([]byte{tc.line[i]}); err != nil {
							return
						}
						select {
						case <-stop:
							return
						case <-time.After(100 * time.Millisecond):
						}
					}
				}()
				lines := readUntilClosed(t, c)
				select {
				case <-dripped:
					t.Fatalf("the server let the whole %s drip in; it answered %q", tc.name, lines)
				default:
				}
				// The bytes before the deadline may be answered as a
				// command: bufio.Reader.ReadLine hands them to go-smtp
				// as a line. One such reply at most, then 421.
				accepted := 0
				for _, l := range lines {
					if strings.HasPrefix(l, "2") && !strings.HasPrefix(l, "220") {
						accepted++
					}
				}
				if accepted > 1 {
					t.Errorf("%d commands accepted from the dripped %s: %q", accepted, tc.name, lines)
				}
				if tc.addr == s.SMTPAddr() && (len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "421 4.4.2")) {
					t.Errorf("the %s timed out without a 421 4.4.2 last: %q", tc.name, lines)
				}
			})
		}
	})
	if n := len(mustMessages(t, s)); n != 0 {
		t.Errorf("%d messages stored from a dripped DATA", n)
	}
}

func TestFailedAuthIsDelayedThenDisconnected(t *testing.T) {
	t.Parallel()
	// Defaults: DefaultAuthFailureDelay before each reply, and the
	// DefaultMaxAuthFailures-th failure ends the connection.
	var log testbuf.Buffer
	s := start(t, func(c *server.Config) {
		c.Users = map[string]string{user: pass}
		c.AllowInsecureAuth = true
		c.Log = &log
	})
	r := dialPlain(t, s)
	r.ehlo()
	// A guesser pipelines many attempts on one connection.
	bad := "AUTH PLAIN " + b64("\x00"+user+"\x00guess") + "\r\n"
	began := time.Now()
	if _, err := r.conn.Write([]byte(strings.Repeat(bad, 50))); err != nil {
		t.Fatal(err)
	}
	lines := readUntilClosed(t, r.conn)
	took := time.Since(began)
	want := make([]string, server.DefaultMaxAuthFailures)
	for i := range want {
		want[i] = "535"
	}
	want[len(want)-1] = "421"
	var got []string
	for _, l := range lines {
		got = append(got, l[:min(3, len(l))])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("replies %q, want codes %v then a hang-up", lines, want)
	}
	// A lower bound (the server sleeps), not a speed assertion.
	if min := server.DefaultMaxAuthFailures * server.DefaultAuthFailureDelay; took < min {
		t.Errorf("%d failed AUTH answered in %v, want at least %v (a delay per failure)", len(want), took, min)
	}
	if !strings.Contains(log.String(), "failed AUTH attempts") {
		t.Errorf("log does not say why the connection was closed:\n%s", log.String())
	}
}

func TestAuthFailureLimits(t *testing.T) {
	t.Parallel()
	const delay = 20 * time.Millisecond
	s := start(t, func(c *server.Config) {
		c.Users = map[string]string{user: pass}
		c.AllowInsecureAuth = true
		c.AuthFailureDelay = delay
		c.MaxAuthFailures = 4
	})
	t.Run("below the limit, the right password still works", func(t *testing.T) {
		r := dialPlain(t, s)
		r.ehlo()
		r.cmd(334, "AUTH LOGIN")
		r.cmd(334, b64(user))
		r.cmd(535, b64("wrong"))
		r.cmd(501, "AUTH PLAIN "+b64(user+"\x00"+pass)) // malformed: counts too
		r.cmd(535, "AUTH PLAIN "+b64("\x00"+user+"\x00wrong"))
		r.cmd(235, "AUTH PLAIN "+b64("\x00"+user+"\x00"+pass))
		r.cmd(250, "MAIL FROM:<a@example.com>")
	})
	t.Run("the limit-th failure ends the connection", func(t *testing.T) {
		r := dialPlain(t, s)
		r.ehlo()
		for range 3 {
			r.cmd(334, "AUTH LOGIN")
			r.cmd(334, b64(user))
			r.cmd(535, b64("wrong"))
		}
		r.cmd(334, "AUTH LOGIN")
		r.cmd(334, b64(user))
		began := time.Now()
		r.send(b64("wrong"))
		if lines := readUntilClosed(t, r.conn); len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.7.0") {
			t.Fatalf("after the last failure: %q, want one 421 4.7.0 and a hang-up", lines)
		}
		if took := time.Since(began); took < delay {
			t.Errorf("the last failure was answered in %v, before the delay %v", took, delay)
		}
	})
	t.Run("counted per connection, also after STARTTLS", func(t *testing.T) {
		r := dialPlain(t, s)
		r.ehlo()
		r.cmd(535, "AUTH PLAIN "+b64("\x00"+user+"\x00wrong"))
		r.cmd(535, "AUTH PLAIN "+b64("\x00"+user+"\x00wrong"))
		r.cmd(535, "AUTH PLAIN "+b64("\x00"+user+"\x00wrong"))
		if err := r.startTLS(&tls.Config{RootCAs: s.CAPool(), ServerName: "localhost"}); err != nil {
			t.Fatal(err)
		}
		r.ehlo()
		r.send("AUTH PLAIN " + b64("\x00"+user+"\x00wrong"))
		if lines := readUntilClosed(t, r.conn); len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.7.0") {
			t.Fatalf("fourth failure, after STARTTLS: %q, want one 421 4.7.0 and a hang-up", lines)
		}
	})
}

func mustMessages(t *testing.T, s *server.Server) []server.Message {
	t.Helper()
	ms, err := s.Messages()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
