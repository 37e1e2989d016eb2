//go:build windows

package schannel

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/secchantest"
)

// resumeServer is a crypto/tls server (session tickets on, its default) that
// accepts connections until the test ends; for each it sends a greeting,
// reads to the end and reports whether the handshake resumed a session.
func resumeServer(t *testing.T, cert tls.Certificate) (addr string, resumed <-chan bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	scfg := secchantest.ServerConfig(cert)
	ch := make(chan bool, 16)
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(2 * hang))
				tc := tls.Server(raw, scfg)
				if err := tc.Handshake(); err != nil {
					return
				}
				ch <- tc.ConnectionState().DidResume
				tc.Write([]byte("hello\n"))
				io.Copy(io.Discard, tc)
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// dialResume connects with p and reads the greeting (a TLS 1.3 ticket comes
// before it and is taken in by that Read); it returns the connection and
// whether the server saw a resumed session.
func dialResume(t *testing.T, p Provider, addr string, resumed <-chan bool, cfg *secchan.Config) (*Conn, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	sc, err := secchantest.Dial(ctx, p, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := sc.(*Conn)
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(hang))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("greeting: %q, %v", buf[:n], err)
	}
	c.SetReadDeadline(time.Time{})
	var srv bool
	select {
	case srv = <-resumed:
	case <-time.After(hang):
		t.Fatal("the server reported no handshake")
	}
	if st := c.State(); st.Resumed != srv {
		t.Errorf("State().Resumed = %v, but the server's handshake resumed: %v", st.Resumed, srv)
	}
	return c, srv
}

// resumeRig is the setup every resumption test shares: fixtures, a
// resumeServer with the fixtures' server certificate, a Provider from
// NewProvider (its idle credentials closed when the test ends) and a client
// configuration with one SessionCache.
type resumeRig struct {
	f       *secchantest.Fixtures
	addr    string
	resumed <-chan bool
	p       Provider
	cfg     *secchan.Config
}

func newResumeRig(t *testing.T) resumeRig {
	t.Helper()
	f, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	r := resumeRig{f: f, p: NewProvider(), cfg: f.ClientConfig()}
	r.addr, r.resumed = resumeServer(t, f.PKI.Server.TLSCertificate())
	t.Cleanup(r.p.CloseIdleCredentials)
	r.cfg.Logf = t.Logf
	r.cfg.SessionCache = tls.NewLRUClientSessionCache(8)
	return r
}

// TestResumeSharedCredential: with a SessionCache, the connections of a
// Provider from NewProvider share one credentials handle (Schannel keeps
// sessions per handle and server name), while they are open together and
// after they closed; without a SessionCache, with another one, or with the
// zero Provider, each connection gets its own. State().Resumed agrees with
// the server on every connection.
func TestResumeSharedCredential(t *testing.T) {
	rig := newResumeRig(t)
	addr, resumed, p, cfg := rig.addr, rig.resumed, rig.p, rig.cfg

	c1, _ := dialResume(t, p, addr, resumed, cfg)
	c2, r2 := dialResume(t, p, addr, resumed, cfg)
	shared := c1.cred.handle()
	if shared.isZero() || c2.cred.handle() != shared {
		t.Fatalf("two open connections with one SessionCache: credentials %p and %p; want one", shared, c2.cred.handle())
	}
	c1.Close()
	c2.Close()
	c3, r3 := dialResume(t, p, addr, resumed, cfg)
	if c3.cred.handle() != shared {
		t.Fatal("a connection after the first two closed got a new credential: it cannot resume their sessions")
	}
	t.Logf("second connection resumed: %v, third: %v", r2, r3)
	if !r2 && !r3 && underWine() {
		t.Log("Wine's Schannel resumed no session (its GnuTLS backend keeps no session data between contexts): TestNativeResumption shows resumption on Windows")
	}

	for _, tc := range []struct {
		name string
		p    Provider
		cfg  func() *secchan.Config
	}{
		{"no SessionCache", p, func() *secchan.Config { c := cfg.Clone(); c.SessionCache = nil; return c }},
		{"another SessionCache", p, func() *secchan.Config {
			c := cfg.Clone()
			c.SessionCache = tls.NewLRUClientSessionCache(8)
			return c
		}},
		{"other versions", p, func() *secchan.Config { c := cfg.Clone(); c.MaxVersion = tls.VersionTLS12; return c }},
		{"zero Provider", Provider{}, func() *secchan.Config { return cfg }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dialResume(t, tc.p, addr, resumed, tc.cfg())
			if h := c.cred.handle(); h == shared || *h == *shared {
				t.Fatal("the connection got the shared credential")
			}
		})
	}
	c3.Close()
}

// TestResumeClientCertCredential: two connections with the same client
// certificate share a credential; one with another certificate, or none,
// never gets it (it would authenticate as someone else).
func TestResumeClientCertCredential(t *testing.T) {
	rig := newResumeRig(t)
	f, addr, resumed, p, base := rig.f, rig.addr, rig.resumed, rig.p, rig.cfg
	other, err := secchantest.NewFixtures()
	if err != nil {
		t.Fatal(err)
	}
	withCert := func(cert tls.Certificate) *secchan.Config {
		c := base.Clone()
		c.Certificates = []tls.Certificate{cert}
		return c
	}
	a1, _ := dialResume(t, p, addr, resumed, withCert(f.ClientLeaf.TLSCertificate()))
	a2, _ := dialResume(t, p, addr, resumed, withCert(f.ClientLeaf.TLSCertificate()))
	if a1.cred.handle() != a2.cred.handle() {
		t.Fatal("two connections with the same client certificate got two credentials")
	}
	b, _ := dialResume(t, p, addr, resumed, withCert(other.ClientLeaf.TLSCertificate()))
	none, _ := dialResume(t, p, addr, resumed, base)
	for name, c := range map[string]*Conn{"another client certificate": b, "no client certificate": none} {
		if c.cred.handle() == a1.cred.handle() {
			t.Errorf("%s: got the credential of the first certificate", name)
		}
	}
}

// TestNativeResumption: on Windows, the second connection to a server with
// one SessionCache resumes the first one's session (TLS 1.3 with a ticket
// where Schannel offers TLS 1.3, as on the CI runner), and State says so.
// Wine's Schannel resumes nothing.
func TestNativeResumption(t *testing.T) {
	skipUnderWine(t, "Schannel resumes no session")
	rig := newResumeRig(t)
	addr, resumed, p, cfg := rig.addr, rig.resumed, rig.p, rig.cfg
	c1, _ := dialResume(t, p, addr, resumed, cfg)
	if err := c1.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	c2, srv := dialResume(t, p, addr, resumed, cfg)
	if !srv || !c2.State().Resumed {
		t.Fatalf("%s: the second connection was not resumed (server: %v, State().Resumed: %v)",
			secchan.VersionName(c2.State().Version), srv, c2.State().Resumed)
	}
}
