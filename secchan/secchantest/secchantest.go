// Package secchantest is the conformance suite every secchan.Provider must
// pass: real TLS over real loopback sockets, with crypto/tls servers built
// from internal/testpki fixtures.
//
// The suite checks what the SMTP client relies on: a good chain is accepted
// and described in State; every broken chain is refused with a *trust.Error
// naming the right trust.Kind; a client certificate reaches the server;
// records that arrive one byte at a time, replies spread over many records
// read through a one-byte buffer, and application data that arrives in the
// same TCP segment as the end of the handshake (an SMTP greeting on implicit
// TLS) are all delivered intact; close_notify reads as io.EOF and a TCP close
// without it as an error; Insecure accepts a bad chain but still records the
// report; the context bounds the handshake.
//
// A provider's own tests call Run:
//
//	func TestConformance(t *testing.T) { secchantest.Run(t, gotls.Provider{}) }
package secchantest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// Options adjusts the suite for a provider's known, documented gaps.
type Options struct {
	// Skip maps a subtest name (as in "broken/self-signed" or
	// "client-certificate") to the reason it cannot pass in this
	// environment. Skipped cases are reported with the reason.
	Skip map[string]string
}

// Run runs the conformance suite against p.
func Run(t *testing.T, p secchan.Provider) { RunOptions(t, p, Options{}) }

// RunOptions runs the conformance suite against p with opts.
func RunOptions(t *testing.T, p secchan.Provider, opts Options) {
	f, err := NewFixtures()
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	s := &suite{p: p, f: f, opts: opts}
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"handshake", s.handshake},
		{"client-certificate", s.clientCertificate},
		{"drip-fed", s.dripFed},
		{"large-reply-small-reads", s.largeReplySmallReads},
		{"greeting-with-handshake", s.greetingWithHandshake},
		{"client-writes", s.clientWrites},
		{"close-notify", s.closeNotify},
		{"truncated", s.truncated},
		{"client-close", s.clientClose},
		{"insecure", s.insecure},
		{"insecure-keeps-pins", s.insecureKeepsPins},
		{"stalled-handshake", s.stalledHandshake},
		{"read-deadline", s.readDeadline},
		{"alpn", s.alpn},
		{"stapled-ocsp", s.stapledOCSP},
		{"unanswered-responder", s.unansweredResponder},
		{"no-server-name", s.noServerName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.skip(t, c.name)
			c.fn(t)
		})
	}
	t.Run("broken", func(t *testing.T) {
		for _, b := range f.Broken {
			t.Run(b.Name, func(t *testing.T) {
				s.skip(t, "broken/"+b.Name)
				s.broken(t, b)
			})
		}
	})
	t.Run("warned", func(t *testing.T) {
		for _, b := range f.Warned {
			t.Run(b.Name, func(t *testing.T) {
				s.skip(t, "warned/"+b.Name)
				s.warned(t, b)
			})
		}
	})
}

type suite struct {
	p    secchan.Provider
	f    *Fixtures
	opts Options
}

func (s *suite) skip(t *testing.T, name string) {
	if why, ok := s.opts.Skip[name]; ok {
		t.Skipf("%s: %s", s.p.Name(), why)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	return c
}

// dial connects with the suite's client configuration, edited by edit.
func (s *suite) dial(t *testing.T, srv *Server, edit func(*secchan.Config)) (secchan.Conn, error) {
	cfg := s.f.ClientConfig()
	if edit != nil {
		edit(cfg)
	}
	return s.dialConfig(t, srv, cfg)
}

// dialConfig connects with cfg (Logf set to t.Logf when unset).
func (s *suite) dialConfig(t *testing.T, srv *Server, cfg *secchan.Config) (secchan.Conn, error) {
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	c, err := Dial(ctx(t), s.p, srv.Addr, cfg)
	if err == nil {
		c.SetDeadline(time.Now().Add(ioTimeout))
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func (s *suite) mustDial(t *testing.T, srv *Server, edit func(*secchan.Config)) secchan.Conn {
	t.Helper()
	c, err := s.dial(t, srv, edit)
	if err != nil {
		srvErr := srv.Wait()
		t.Fatalf("handshake failed: %v (server: %v)", err, srvErr)
	}
	return c
}

func waitServer(t *testing.T, srv *Server) {
	t.Helper()
	if err := srv.Wait(); err != nil {
		t.Errorf("server: %v", err)
	}
}

// serveTLS handshakes on raw with cfg and then runs fn.
func serveTLS(raw net.Conn, cfg *tls.Config, fn func(*tls.Conn) error) error {
	tc := tls.Server(raw, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("server handshake: %w", err)
	}
	return fn(tc)
}

// readAll reads until EOF or error with a buffer of n bytes.
func readAll(r io.Reader, n int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out.Write(buf[:k])
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// readN reads exactly n bytes with a buffer of size bufSize.
func readN(r io.Reader, n, bufSize int) ([]byte, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, bufSize)
	for len(out) < n {
		want := min(bufSize, n-len(out))
		k, err := r.Read(buf[:want])
		out = append(out, buf[:k]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *suite) handshake(t *testing.T) {
	var version uint16
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			version = c.ConnectionState().Version
			_, err := c.Write([]byte("220 ready\r\n"))
			return err
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readN(c, len("220 ready\r\n"), 64)
	if err != nil || string(got) != "220 ready\r\n" {
		t.Fatalf("read %q, %v; want the greeting", got, err)
	}
	waitServer(t, srv)
	st := c.State()
	if st.Provider != s.p.Name() {
		t.Errorf("State().Provider = %q, want %q", st.Provider, s.p.Name())
	}
	if st.Version != version {
		t.Errorf("State().Version = %s, the server negotiated %s", secchan.VersionName(st.Version), secchan.VersionName(version))
	}
	if !st.Verified || !st.Report.OK() {
		t.Errorf("good chain not verified: %v", st.Report.Problems)
	}
	want := s.f.PKI.Server.Chain
	if len(st.PeerCertificates) != len(want) {
		t.Fatalf("State().PeerCertificates has %d certificates, the server sent %d", len(st.PeerCertificates), len(want))
	}
	for i := range want {
		if !st.PeerCertificates[i].Equal(want[i]) {
			t.Errorf("PeerCertificates[%d] = %q, want %q (the order the server sent)", i, st.PeerCertificates[i].Subject, want[i].Subject)
		}
	}
	if st.CipherSuite == 0 && st.CipherName == "" {
		t.Errorf("State() names no cipher suite")
	}
}

func (s *suite) broken(t *testing.T, b BrokenChain) {
	srv := Serve(t, func(raw net.Conn) error {
		err := serveTLS(raw, ServerConfig(b.Cert), func(c *tls.Conn) error {
			// A TLS 1.3 server finishes its side before the client has
			// judged the chain; the refusal shows on the next read.
			_, err := c.Read(make([]byte, 1))
			return err
		})
		if err == nil {
			return errors.New("the client kept the connection open after a refused chain")
		}
		return nil
	})
	cfg := b.Config()
	_, err := s.dialConfig(t, srv, cfg)
	waitServer(t, srv)
	var te *trust.Error
	if !errors.As(err, &te) {
		t.Fatalf("%s: handshake error = %v (%T), want a *trust.Error", b.About, err, err)
	}
	want := trust.Verify(certsOf(t, b.Cert), cfg.TrustOptions())
	if !want.Has(b.Kind) {
		t.Fatalf("fixture defect: package trust reports %v for %q, not %s", kinds(want), b.About, b.Kind)
	}
	if !te.Report.Has(b.Kind) {
		t.Errorf("%s: refused with %v, want %s", b.About, kinds(te.Report), b.Kind)
	}
	if !sameKinds(te.Report, want) {
		t.Errorf("%s: provider reports %v, package trust reports %v for the same chain", b.About, kinds(te.Report), kinds(want))
	}
	if te.Fix() == "" {
		t.Errorf("the refusal says nothing about what to do: %v", te)
	}
}

// warned checks that a chain with only a warning-level problem is accepted,
// with the warning in the report.
func (s *suite) warned(t *testing.T, b BrokenChain) {
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(b.Cert), func(c *tls.Conn) error {
			_, err := c.Write([]byte("220 ok\r\n"))
			return err
		})
	})
	c, err := s.dialConfig(t, srv, b.Config())
	if err != nil {
		srv.Wait()
		t.Fatalf("%s: a chain with a warning only was refused: %v", b.About, err)
	}
	got, err := readN(c, 8, 8)
	if string(got) != "220 ok\r\n" {
		t.Errorf("read %q, %v", got, err)
	}
	waitServer(t, srv)
	st := c.State()
	if !st.Verified || !st.Report.Has(b.Kind) {
		t.Errorf("State() = Verified %v, problems %v; want verified with the %s warning", st.Verified, st.Report.Problems, b.Kind)
	}
}

func (s *suite) clientCertificate(t *testing.T) {
	scfg := ServerConfig(s.f.PKI.Server.TLSCertificate())
	scfg.ClientAuth = tls.RequireAndVerifyClientCert
	scfg.ClientCAs = s.f.ClientRoot.Pool()
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, scfg, func(c *tls.Conn) error {
			peer := c.ConnectionState().PeerCertificates
			if len(peer) == 0 || !peer[0].Equal(s.f.ClientLeaf.Cert) {
				return errors.New("the client did not present the configured certificate")
			}
			_, err := c.Write([]byte("hello " + peer[0].Subject.CommonName + "\n"))
			return err
		})
	})
	c := s.mustDial(t, srv, func(cfg *secchan.Config) {
		cfg.Certificates = []tls.Certificate{s.f.ClientLeaf.TLSCertificate()}
	})
	want := "hello tlsmail test client\n"
	got, err := readN(c, len(want), 100)
	if string(got) != want {
		t.Errorf("read %q, %v; want %q", got, err, want)
	}
	waitServer(t, srv)
}

func (s *suite) dripFed(t *testing.T) {
	msg := "220 mail.example.org ESMTP drip-fed, one record per byte\r\n"
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(DripConn{raw}, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			for i := range len(msg) {
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					return err
				}
			}
			return nil
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readN(c, len(msg), 7)
	if string(got) != msg {
		t.Errorf("read %q, %v; want %q", got, err, msg)
	}
	waitServer(t, srv)
}

func payload(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *suite) largeReplySmallReads(t *testing.T) {
	data := payload(t, 40<<10)
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			// Uneven writes: records of many sizes, some split across TCP
			// segments, some sharing one.
			for off, step := 0, 1; off < len(data); step = step*3 + 1 {
				end := min(off+step, len(data))
				if _, err := c.Write(data[off:end]); err != nil {
					return err
				}
				off = end
			}
			return nil
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readN(c, len(data), 1)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read %d of %d bytes (%v); first difference at %d", len(got), len(data), err, firstDiff(got, data))
	}
	waitServer(t, srv)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func (s *suite) greetingWithHandshake(t *testing.T) {
	greeting := "220 mail.example.org ESMTP ready\r\n"
	srv := Serve(t, func(raw net.Conn) error {
		cc := &CoalesceConn{Conn: raw}
		return serveTLS(cc, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			// The server's last handshake flight (and TLS 1.3 session
			// tickets) and the greeting leave in one TCP write.
			if _, err := c.Write([]byte(greeting)); err != nil {
				return err
			}
			if err := cc.Flush(); err != nil {
				return err
			}
			// Echo one line so that the client proves it can still write.
			line, err := readN(c, len("EHLO x\r\n"), 64)
			if err != nil {
				return fmt.Errorf("read EHLO: %w", err)
			}
			if _, err := c.Write(append([]byte("250 "), line...)); err != nil {
				return err
			}
			return cc.Flush()
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readN(c, len(greeting), 512)
	if string(got) != greeting {
		t.Fatalf("read %q, %v; want the greeting %q", got, err, greeting)
	}
	if _, err := c.Write([]byte("EHLO x\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err = readN(c, len("250 EHLO x\r\n"), 512)
	if string(got) != "250 EHLO x\r\n" {
		t.Errorf("read %q, %v; want the echo", got, err)
	}
	waitServer(t, srv)
}

func (s *suite) clientWrites(t *testing.T) {
	data := payload(t, 100<<10)
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			got, err := readN(c, len(data), 4096)
			if err != nil {
				return fmt.Errorf("read %d of %d bytes: %w", len(got), len(data), err)
			}
			if !bytes.Equal(got, data) {
				return fmt.Errorf("the data arrived changed at byte %d", firstDiff(got, data))
			}
			_, err = c.Write([]byte("250 ok\r\n"))
			return err
		})
	})
	c := s.mustDial(t, srv, nil)
	// One large write (more than a TLS record) and many small ones.
	half := len(data) / 2
	if n, err := c.Write(data[:half]); n != half || err != nil {
		t.Fatalf("Write = %d, %v; want %d", n, err, half)
	}
	for i := half; i < len(data); i += 1000 {
		chunk := data[i:min(i+1000, len(data))]
		if n, err := c.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v; want %d", n, err, len(chunk))
		}
	}
	got, err := readN(c, 8, 8)
	if string(got) != "250 ok\r\n" {
		t.Errorf("read %q, %v", got, err)
	}
	waitServer(t, srv)
}

func (s *suite) closeNotify(t *testing.T) {
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			if _, err := c.Write([]byte("221 bye\r\n")); err != nil {
				return err
			}
			return c.Close() // sends close_notify
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readAll(c, 3)
	if string(got) != "221 bye\r\n" || err != io.EOF {
		t.Errorf("read %q, %v; want %q then io.EOF", got, err, "221 bye\r\n")
	}
	// EOF stays EOF.
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
	waitServer(t, srv)
}

func (s *suite) truncated(t *testing.T) {
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			if _, err := c.Write([]byte("250 partial")); err != nil {
				return err
			}
			// Half of an application-data record, then a TCP close without
			// close_notify. (A close at a record boundary reads as io.EOF
			// with crypto/tls, which accepts it as popular servers do it;
			// the SMTP client then sees an incomplete reply.)
			if _, err := raw.Write([]byte{23, 3, 3, 0, 40, 1, 2, 3, 4, 5}); err != nil {
				return err
			}
			return raw.Close()
		})
	})
	c := s.mustDial(t, srv, nil)
	got, err := readAll(c, 64)
	if err == nil || err == io.EOF {
		t.Errorf("read %q, %v; want the data then an error other than io.EOF (a record was cut short)", got, err)
	}
	if !strings.HasPrefix("250 partial", string(got)) {
		t.Errorf("read %q, want a prefix of %q", got, "250 partial")
	}
	waitServer(t, srv)
}

func (s *suite) clientClose(t *testing.T) {
	// TLS 1.2, where an alert record is visible on the wire: the client's
	// last record must be one (close_notify), not the data.
	scfg := ServerConfig(s.f.PKI.Server.TLSCertificate())
	scfg.MaxVersion = tls.VersionTLS12
	srv := Serve(t, func(raw net.Conn) error {
		rec := &recordConn{Conn: raw}
		return serveTLS(rec, scfg, func(c *tls.Conn) error {
			got, err := readAll(c, 64)
			if string(got) != "QUIT\r\n" || err != io.EOF {
				return fmt.Errorf("server read %q, %v; want QUIT then io.EOF", got, err)
			}
			if typ := rec.lastRecordType(); typ != 21 {
				return fmt.Errorf("the client's last TLS record has type %d, want 21 (alert: close_notify)", typ)
			}
			return nil
		})
	})
	c := s.mustDial(t, srv, nil)
	if _, err := c.Write([]byte("QUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitServer(t, srv)
}

func (s *suite) insecure(t *testing.T) {
	var b BrokenChain
	for _, x := range s.f.Broken {
		if x.Kind == trust.KindUntrustedRoot {
			b = x
		}
	}
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(b.Cert), func(c *tls.Conn) error {
			_, err := c.Write([]byte("220 hi\r\n"))
			return err
		})
	})
	var logged []string
	cfg := b.Config()
	cfg.Insecure = true
	cfg.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	c, err := s.dialConfig(t, srv, cfg)
	if err != nil {
		srv.Wait()
		t.Fatalf("Insecure: handshake failed: %v", err)
	}
	got, err := readN(c, 8, 8)
	if string(got) != "220 hi\r\n" {
		t.Errorf("read %q, %v", got, err)
	}
	st := c.State()
	if st.Verified || st.Report.OK() || !st.Report.Has(trust.KindUntrustedRoot) {
		t.Errorf("State() = Verified %v, problems %v; want unverified with %s recorded", st.Verified, kinds(st.Report), trust.KindUntrustedRoot)
	}
	if len(logged) == 0 {
		t.Errorf("the ignored problems were not logged through Config.Logf")
	}
	waitServer(t, srv)
}

// insecureKeepsPins: Insecure ignores the chain's problems, never a pin the
// user gave: --insecure --pin must still refuse a server with another key.
func (s *suite) insecureKeepsPins(t *testing.T) {
	var b BrokenChain
	for _, x := range s.f.Broken {
		if x.Kind == trust.KindPinMismatch {
			b = x
		}
	}
	if b.Name == "" {
		t.Fatal("the fixtures have no pin-mismatch chain")
	}
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(b.Cert), func(c *tls.Conn) error {
			_, err := c.Write([]byte("220 hi\r\n"))
			return err
		})
	})
	cfg := b.Config()
	cfg.Insecure = true
	c, err := s.dialConfig(t, srv, cfg)
	if err == nil {
		c.Close()
		srv.Wait()
		t.Fatal("Insecure accepted a server whose key matches no pin")
	}
	var te *trust.Error
	if !errors.As(err, &te) || !te.Report.Has(trust.KindPinMismatch) {
		t.Errorf("error %v, want a *trust.Error with %s", err, trust.KindPinMismatch)
	}
	srv.Wait()
}

func (s *suite) stalledHandshake(t *testing.T) {
	release := make(chan struct{})
	srv := Serve(t, func(raw net.Conn) error {
		<-release // accept, read nothing, say nothing
		return nil
	})
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cfg := s.f.ClientConfig()
	done := make(chan error, 1)
	go func() {
		conn, err := Dial(c, s.p, srv.Addr, cfg)
		if conn != nil {
			conn.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * ioTimeout):
		t.Fatal("Client did not return after its context expired")
	}
	close(release)
	waitServer(t, srv)
	if err == nil {
		t.Fatal("handshake with a silent server succeeded")
	}
	var he *secchan.HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v (%T); want a *secchan.HandshakeError wrapping context.DeadlineExceeded", err, err)
	}
}

func (s *suite) readDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, ServerConfig(s.f.PKI.Server.TLSCertificate()), func(c *tls.Conn) error {
			<-release
			_, err := c.Write([]byte("220 late\r\n"))
			return err
		})
	})
	c := s.mustDial(t, srv, nil)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Read past the deadline = %v; want a timeout net.Error", err)
	}
	close(release)
	waitServer(t, srv)
}

func (s *suite) alpn(t *testing.T) {
	scfg := ServerConfig(s.f.PKI.Server.TLSCertificate())
	scfg.NextProtos = []string{"smtp", "x-other"}
	srv := Serve(t, func(raw net.Conn) error {
		return serveTLS(raw, scfg, func(c *tls.Conn) error {
			if p := c.ConnectionState().NegotiatedProtocol; p != "smtp" {
				return fmt.Errorf("server negotiated ALPN %q, want smtp", p)
			}
			_, err := c.Write([]byte("ok"))
			return err
		})
	})
	c := s.mustDial(t, srv, func(cfg *secchan.Config) { cfg.NextProtos = []string{"smtp"} })
	readN(c, 2, 2)
	if p := c.State().NegotiatedProtocol; p != "smtp" {
		t.Errorf("State().NegotiatedProtocol = %q, want smtp", p)
	}
	waitServer(t, srv)
}

// certsOf parses what a server presents.
func certsOf(t *testing.T, c tls.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

func trustOpts(f *Fixtures) trust.Options {
	cfg := f.ClientConfig()
	return cfg.TrustOptions()
}

func kinds(r trust.Report) []trust.Kind {
	var out []trust.Kind
	for _, p := range r.Errors() {
		out = append(out, p.Kind)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sameKinds(a, b trust.Report) bool { return slices.Equal(kinds(a), kinds(b)) }

// stapledOCSP: the server staples an OCSP response saying its certificate
// is revoked (RFC 6066 section 8, status_request); the provider must hand
// it to package trust (Options.StapledOCSP), which refuses the chain as
// revoked without asking any responder, and show it in State.
func (s *suite) stapledOCSP(t *testing.T) {
	sc, err := testpki.NewRevocationScenario("revoked-staple")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if len(sc.Staple) == 0 {
		t.Fatal("fixture defect: the revoked-staple scenario has no staple")
	}
	srv := Serve(t, func(raw net.Conn) error {
		serveTLS(raw, ServerConfig(sc.TLSCertificate()), func(c *tls.Conn) error {
			_, err := c.Read(make([]byte, 1))
			return err
		})
		return nil // the client refuses; how the server sees it does not matter
	})
	cfg := &secchan.Config{ServerName: sc.Name}
	cfg.Trust.Roots = sc.Pool()
	cfg.Trust.Revocation = trust.RevocationStrict
	cfg.Insecure = true // to see State even though the chain is refused
	conn, err := s.dialConfig(t, srv, cfg)
	if err != nil {
		t.Fatalf("handshake (with Insecure): %v", err)
	}
	st := conn.State()
	conn.Close()
	waitServer(t, srv)
	if !bytes.Equal(st.OCSPResponse, sc.Staple) {
		t.Errorf("State().OCSPResponse has %d bytes, want the %d-byte staple", len(st.OCSPResponse), len(sc.Staple))
	}
	if !st.Report.Has(trust.KindRevoked) {
		t.Errorf("report %v, want %s from the stapled response", kinds(st.Report), trust.KindRevoked)
	}
	if n := sc.Responder.Hits("/ocsp") + sc.Responder.Hits("/crl"); n != 0 {
		t.Errorf("the responder was asked %d times although the server stapled a response (the staple did not reach package trust)", n)
	}
}

// unansweredResponder: the server's certificate names three CRL and three
// OCSP URLs on a listener that accepts and never answers (a firewall that
// drops packets). Under soft revocation the handshake must complete within
// its context's deadline (3 s, the connection's deadline too, as
// smtp.Client arms a step), with the status unknown (a warning): the
// fetches, 10 s each by the Checker's default, may neither take the
// handshake's whole time nor run past it.
func (s *suite) unansweredResponder(t *testing.T) {
	hole := BlackHole(t)
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var crls, ocsps []string
	for i := range 3 {
		crls = append(crls, fmt.Sprintf("%s/crl%d", hole, i))
		ocsps = append(ocsps, fmt.Sprintf("%s/ocsp%d", hole, i))
	}
	leaf, err := root.Issue(testpki.Options{DNSNames: []string{ServerName}, CRLDistributionPoints: crls, OCSPServer: ocsps})
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(t, func(raw net.Conn) error {
		serveTLS(raw, ServerConfig(leaf.TLSCertificate()), func(c *tls.Conn) error {
			_, err := c.Read(make([]byte, 1))
			return err
		})
		return nil
	})
	cfg := &secchan.Config{ServerName: ServerName, Logf: t.Logf}
	cfg.Trust.Roots = root.Pool()
	cfg.Trust.Revocation = trust.RevocationSoft
	cfg.Trust.Checker = &trust.Checker{}
	const budget = 3 * time.Second
	hctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	raw, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	raw.SetDeadline(start.Add(budget))
	conn, err := s.p.Client(hctx, raw, cfg)
	took := time.Since(start)
	if err != nil {
		raw.Close()
		t.Fatalf("handshake failed after %v: %v; want it to complete with the revocation status unknown", took, err)
	}
	defer conn.Close()
	// An upper bound for "does not run past the deadline", not speed.
	if took > budget+2*time.Second {
		t.Errorf("Client returned after %v; its context ended after %v", took, budget)
	}
	if st := conn.State(); !st.Verified || !st.Report.Has(trust.KindRevocationUnknown) {
		t.Errorf("verified %v, problems %v; want verified with a revocation-unknown warning", st.Verified, kinds(st.Report))
	}
}

// BlackHole returns an http:// address whose listener accepts connections
// and never answers (a CRL or OCSP responder behind a firewall that drops
// packets); they are closed when the test ends.
func BlackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case held <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// noServerName: a Config that names no server (ServerName and Trust.Name
// empty) and does not ask for Insecure is refused before the handshake with
// secchan.ErrNoServerName (secchan.Config.CheckName), whatever the
// provider: with no name, any certificate of a trusted CA would pass.
func (s *suite) noServerName(t *testing.T) {
	for _, cfg := range []*secchan.Config{nil, {}} {
		a, b := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.p.Client(ctx, a, cfg)
		cancel()
		b.Close()
		if !errors.Is(err, secchan.ErrNoServerName) {
			t.Errorf("Client(%+v): %v, want secchan.ErrNoServerName", cfg, err)
		}
	}
}
