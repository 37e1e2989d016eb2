package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/server"
)

// ioDeadline bounds every network operation of a test client. It is a
// safety net against hangs, not an assertion about speed.
const ioDeadline = 30 * time.Second

// start runs a server for the test with both listeners on loopback port 0,
// a throwaway PKI in t.TempDir(), and the given changes to the config.
func start(t testing.TB, edit func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		SMTPAddr:  "127.0.0.1:0",
		SMTPSAddr: "127.0.0.1:0",
		Dir:       t.TempDir(),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// caPoolFromFile reads the server's ca.pem as a client would.
func caPoolFromFile(t testing.TB, s *server.Server) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile())
	if err != nil {
		t.Fatalf("reading ca.pem: %v", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatalf("ca.pem holds no certificate")
	}
	return p
}

// waitN waits for n messages with a generous safety deadline.
func waitN(t testing.TB, s *server.Server, n int) []server.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioDeadline)
	defer cancel()
	ms, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatalf("Wait(%d): %v", n, err)
	}
	return ms
}

// raw is a hand-driven SMTP client (net/textproto over a net.Conn), for
// exchanges net/smtp cannot express.
type raw struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

func newRaw(t testing.TB, c net.Conn) *raw {
	t.Helper()
	c.SetDeadline(time.Now().Add(ioDeadline))
	r := &raw{t: t, conn: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	return r
}

func dialPlain(t testing.TB, s *server.Server) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), ioDeadline)
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, c)
	r.expect(220)
	return r
}

func dialTLS(t testing.TB, s *server.Server, conf *tls.Config) *raw {
	t.Helper()
	d := &net.Dialer{Timeout: ioDeadline}
	c, err := tls.DialWithDialer(d, "tcp", s.SMTPSAddr(), conf)
	if err != nil {
		t.Fatal(err)
	}
	r := newRaw(t, c)
	r.expect(220)
	return r
}

// send writes one command line.
func (r *raw) send(line string) {
	r.t.Helper()
	if err := r.tp.PrintfLine("%s", line); err != nil {
		r.t.Fatalf("write %q: %v", line, err)
	}
}

// reply reads one (possibly multi-line) reply.
func (r *raw) reply() (int, string) {
	r.t.Helper()
	code, msg, err := r.tp.ReadResponse(0)
	if err != nil && code == 0 {
		r.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// expect reads a reply and fails unless its code is want.
func (r *raw) expect(want int) string {
	r.t.Helper()
	code, msg := r.reply()
	if code != want {
		r.t.Fatalf("got %d %q, want %d", code, msg, want)
	}
	return msg
}

// cmd sends a line and expects a code.
func (r *raw) cmd(want int, line string) string {
	r.t.Helper()
	r.send(line)
	return r.expect(want)
}

// ehlo returns the extension keywords (upper case) with their parameters.
func (r *raw) ehlo() map[string]string {
	r.t.Helper()
	msg := r.cmd(250, "EHLO client.example")
	ext := map[string]string{}
	for _, l := range strings.Split(msg, "\n")[1:] {
		k, v, _ := strings.Cut(l, " ")
		ext[strings.ToUpper(k)] = v
	}
	return ext
}

// startTLS upgrades the connection after the 220 to STARTTLS.
func (r *raw) startTLS(conf *tls.Config) error {
	r.t.Helper()
	r.cmd(220, "STARTTLS")
	tc := tls.Client(r.conn, conf)
	if err := tc.Handshake(); err != nil {
		return err
	}
	r.conn = tc
	r.tp = textproto.NewConn(tc)
	return nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
