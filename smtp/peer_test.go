package smtp

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// peer is the server side of a scripted SMTP exchange over a real loopback
// socket, for servers that misbehave in ways no real server can be made to.
type peer struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	// drip writes replies one byte at a time.
	drip bool
}

// scripted starts a listener whose first connection is handed to script.
// It returns the address; the test waits for script to finish at cleanup.
func scripted(t *testing.T, script func(p *peer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		script(&peer{t: t, conn: conn, br: bufio.NewReader(conn)})
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func (p *peer) send(s string) {
	if !p.drip {
		p.conn.Write([]byte(s))
		return
	}
	for i := 0; i < len(s); i++ {
		if _, err := p.conn.Write([]byte{s[i]}); err != nil {
			return
		}
	}
}

// line reads one command line, without CRLF.
func (p *peer) line() string {
	l, err := p.br.ReadString('\n')
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimRight(l, "\r\n")
}

// expect reads a line and fails the test unless it starts with prefix.
func (p *peer) expect(prefix string) string {
	l := p.line()
	if !strings.HasPrefix(l, prefix) {
		p.t.Errorf("server got %q, want prefix %q", l, prefix)
	}
	return l
}

// data reads message data up to the end marker and returns it unstuffed.
func (p *peer) data() string {
	var b strings.Builder
	for {
		l, err := p.br.ReadString('\n')
		if err != nil {
			p.t.Errorf("reading data: %v", err)
			return b.String()
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
}

// tlsServer turns the connection into TLS with cert.
func (p *peer) tlsServer(cert tls.Certificate) bool {
	tc := tls.Server(p.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return false
	}
	p.conn = tc
	p.br = bufio.NewReader(tc)
	return true
}

// ehlo answers EHLO with the given extension lines.
func (p *peer) ehlo(exts ...string) {
	p.expect("EHLO ")
	lines := append([]string{"test.example"}, exts...)
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	p.send(b.String())
}

// envelope answers MAIL, one RCPT and DATA, reads the data and answers it.
func (p *peer) envelope() string {
	p.expect("MAIL FROM:")
	p.send("250 2.1.0 ok\r\n")
	p.expect("RCPT TO:")
	p.send("250 2.1.5 ok\r\n")
	p.expect("DATA")
	p.send("354 go ahead\r\n")
	d := p.data()
	p.send("250 2.0.0 Ok: queued as ABC123\r\n")
	return d
}

// pki is one shared three-level PKI for the package's tests.
var pki = sync.OnceValue(func() *testpki.PKI {
	p, err := testpki.NewPKI(nil, nil)
	if err != nil {
		panic(err)
	}
	return p
})

// tlsConfig trusts the test PKI's root.
func tlsConfig() *secchan.Config {
	return &secchan.Config{Trust: trust.Options{Roots: pki().Root.Pool()}}
}
