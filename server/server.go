// Package server is tlsmail's embedded local SMTP server, used by
// `tlsmail serve`, `tlsmail demo` and the tests of every other package.
//
// It is built on github.com/emersion/go-smtp and speaks ESMTP (RFC 5321)
// on a plain port with STARTTLS (RFC 3207) and/or on an implicit-TLS port
// (RFC 8314 section 3), with AUTH PLAIN and LOGIN (RFC 4954, RFC 4616),
// PIPELINING (RFC 2920), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), SIZE
// (RFC 1870), ENHANCEDSTATUSCODES (RFC 2034) and CHUNKING (RFC 3030).
//
// Every accepted message is stored in Dir/messages as <received>-<id>.eml,
// holding exactly the DATA bytes received (after dot-unstuffing, line
// endings as sent), next to <received>-<id>.json with its Envelope. The
// reply to the end of DATA is "250 2.0.0 Ok: queued as <id>".
//
// Without a configured certificate the server makes a throwaway PKI (root →
// intermediate → leaf for localhost, 127.0.0.1 and ::1) and writes the root
// to CAFile(), so clients can verify it for real.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tlsmail/tlsmail/internal/pki"
)

// Listener names, as recorded in Envelope.Listener.
const (
	listenerSMTP  = "smtp"
	listenerSMTPS = "smtps"
)

// Server is a running embedded SMTP server. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config // with defaults
	dir     string
	tempDir bool // dir was made by Start and is removed by Close
	caFile  string
	caPool  *x509.CertPool
	tlsConf *tls.Config
	store   *store
	log     *logger
	debug   *lockedWriter

	smtpLn, smtpsLn net.Listener

	wg sync.WaitGroup // accept loops and sessions

	mu      sync.Mutex
	closing bool
	conns   map[*trackedConn]struct{}
	nextID  int
	msgs    []Message     // stored by this server, in order
	notify  chan struct{} // closed and replaced on every store, and on Close
	done    chan struct{} // closed when closing starts
	closeMu sync.Mutex    // serialises Close/Shutdown
	closed  bool
}

// Start validates cfg, prepares Dir (and a throwaway PKI if cfg.Certificate
// is nil), binds the listeners and starts serving. ctx bounds the startup
// only: the server runs until Close or Shutdown.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.Users = maps.Clone(cfg.Users) // the caller may reuse its map
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "start", Err: err, Fix: "pass a context that is not done"}
	}
	s := &Server{
		cfg:    cfg,
		log:    &logger{w: newLockedWriter(cfg.Log)},
		debug:  newLockedWriter(cfg.Debug),
		conns:  make(map[*trackedConn]struct{}),
		notify: make(chan struct{}),
		done:   make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			s.cleanup()
		}
	}()

	if err := s.prepareDir(); err != nil {
		return nil, err
	}
	if err := s.prepareTLS(); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	for _, l := range []struct {
		addr string
		ln   *net.Listener
	}{{cfg.SMTPAddr, &s.smtpLn}, {cfg.SMTPSAddr, &s.smtpsLn}} {
		if l.addr == "" {
			continue
		}
		ln, err := lc.Listen(ctx, "tcp", l.addr)
		if err != nil {
			return nil, &Error{Op: "listen", Addr: l.addr, Err: err,
				Fix: `choose a free port, or port 0 (e.g. "127.0.0.1:0") to let the system pick one`}
		}
		*l.ln = ln
	}
	if s.smtpLn != nil {
		s.wg.Add(1)
		go s.acceptLoop(s.smtpLn, listenerSMTP)
		if cfg.DisableSTARTTLS {
			s.log.printf("listening on %s (SMTP, no STARTTLS)", s.smtpLn.Addr())
		} else {
			s.log.printf("listening on %s (SMTP with STARTTLS)", s.smtpLn.Addr())
		}
	}
	if s.smtpsLn != nil {
		s.wg.Add(1)
		go s.acceptLoop(s.smtpsLn, listenerSMTPS)
		s.log.printf("listening on %s (SMTPS, implicit TLS)", s.smtpsLn.Addr())
	}
	ok = true
	return s, nil
}

func (s *Server) prepareDir() error {
	if s.cfg.Dir == "" {
		d, err := os.MkdirTemp("", "tlsmail-server-")
		if err != nil {
			return &Error{Op: "dir", Err: err, Fix: "set Config.Dir to a writable directory"}
		}
		s.dir, s.tempDir = d, true
	} else {
		d, err := filepath.Abs(s.cfg.Dir)
		if err == nil {
			err = os.MkdirAll(d, 0o755)
		}
		if err != nil {
			return &Error{Op: "dir", Err: err, Fix: "set Config.Dir to a directory you can write"}
		}
		s.dir = d
	}
	st, err := newStore(s.dir, s.cfg.Sync)
	if err != nil {
		return &Error{Op: "dir", Err: err, Fix: "make Config.Dir writable"}
	}
	s.store = st
	return nil
}

func (s *Server) prepareTLS() error {
	var cert tls.Certificate
	if s.cfg.Certificate != nil {
		cert = *s.cfg.Certificate
	} else {
		ca, err := pki.NewPKI(nil, nil)
		if err != nil {
			return &Error{Op: "pki", Err: err, Fix: "pass Config.Certificate instead"}
		}
		caFile, _, _, err := ca.WriteFiles(s.dir)
		if err != nil {
			return &Error{Op: "pki", Err: err, Fix: "make Config.Dir writable"}
		}
		cert = ca.Server.TLSCertificate()
		s.caFile, s.caPool = caFile, ca.Root.Pool()
	}
	s.tlsConf = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   s.cfg.MinTLSVersion,
		MaxVersion:   s.cfg.MaxTLSVersion,
	}
	if s.cfg.ClientCAs != nil {
		s.tlsConf.ClientCAs = s.cfg.ClientCAs
		s.tlsConf.ClientAuth = tls.VerifyClientCertIfGiven
		if s.cfg.RequireClientCert {
			s.tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return nil
}

// SMTPAddr is the bound address (host:port) of the plain listener, "" if
// disabled.
func (s *Server) SMTPAddr() string { return addrOf(s.smtpLn) }

// SMTPSAddr is the bound address (host:port) of the implicit-TLS listener,
// "" if disabled.
func (s *Server) SMTPSAddr() string { return addrOf(s.smtpsLn) }

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// CAFile is the path of ca.pem, the root of the throwaway PKI, or "" when
// Config.Certificate was given.
func (s *Server) CAFile() string { return s.caFile }

// CAPool is a pool holding the throwaway root (what CAFile holds), or nil
// when Config.Certificate was given.
func (s *Server) CAPool() *x509.CertPool { return s.caPool }

// Dir is the absolute directory holding ca.pem and messages/.
func (s *Server) Dir() string { return s.dir }

// Messages lists every complete message stored in Dir (including those of
// earlier runs), oldest first.
func (s *Server) Messages() ([]Message, error) {
	ms, err := s.store.list()
	if err != nil {
		return nil, &Error{Op: "messages", Err: err, Fix: "check that " + s.store.dir + " exists and is readable"}
	}
	return ms, nil
}

// Wait blocks until this server has stored at least n messages, and returns
// those it stored, in the order it stored them. It fails when ctx ends
// first or the server is closed.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		have, closing, ch := len(s.msgs), s.closing, s.notify
		s.mu.Unlock()
		if closing {
			return nil, &Error{Op: "wait", Err: ErrClosed,
				Fix: fmt.Sprintf("only %d of %d messages arrived before Close", have, n)}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, &Error{Op: "wait", Err: ctx.Err(),
				Fix: fmt.Sprintf("only %d of %d messages arrived; check the client's error", have, n)}
		}
	}
}

// stored records m and wakes waiters.
func (s *Server) stored(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.notify)
	s.notify = make(chan struct{})
}

// Close stops the server: it closes the listeners, closes every open
// connection (a message whose DATA is incomplete is not stored; stored
// messages are complete), waits for every goroutine it started, and removes
// Dir if Start made it. It is safe to call more than once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}

// Shutdown stops accepting connections and waits for open sessions to end
// by themselves (the client sends QUIT or hangs up) until ctx is done; then
// it closes what is left as Close does and waits for every goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true

	s.mu.Lock()
	s.closing = true
	close(s.done)
	close(s.notify) // wake waiters; they see closing
	s.notify = make(chan struct{})
	s.mu.Unlock()

	var err error
	for _, l := range []net.Listener{s.smtpLn, s.smtpsLn} {
		if l != nil {
			if cerr := l.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
				err = cerr
			}
		}
	}
	idle := make(chan struct{})
	go func() { s.wg.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-idle
	}
	s.log.printf("closed")
	s.cleanup()
	return err
}

// cleanup removes a temporary Dir.
func (s *Server) cleanup() {
	for _, l := range []net.Listener{s.smtpLn, s.smtpsLn} {
		if l != nil {
			l.Close()
		}
	}
	if s.tempDir {
		os.RemoveAll(s.dir)
	}
}

// acceptLoop accepts connections on l until the server closes.
func (s *Server) acceptLoop(l net.Listener, name string) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as
			// net/http does, instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.printf("accept on %s: %v; retrying in %v", l.Addr(), err, backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		tc, id, ok := s.register(nc, name)
		if !ok {
			continue
		}
		go s.serveConn(tc, id, name)
	}
}

// register tracks nc as a session, or refuses it when the server is
// closing or full.
func (s *Server) register(nc net.Conn, listener string) (*trackedConn, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		nc.Close()
		return nil, 0, false
	}
	if len(s.conns) >= s.cfg.MaxSessions {
		// RFC 5321 section 3.8: 421 when the service is unavailable.
		// Over implicit TLS the client would not understand plain text,
		// so the connection is just closed.
		if listener == listenerSMTP {
			nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			fmt.Fprintf(nc, "421 4.7.0 %s Too many sessions, try again later\r\n", s.cfg.Domain)
		}
		nc.Close()
		s.log.printf("refused %s: %d sessions open (MaxSessions)", nc.RemoteAddr(), len(s.conns))
		return nil, 0, false
	}
	s.nextID++
	tc := newTrackedConn(nc)
	s.conns[tc] = struct{}{}
	s.wg.Add(1)
	return tc, s.nextID, true
}

// connState is what a session knows about its connection.
type connState struct {
	id       int
	listener string
	remote   string
}

// serveConn runs one connection through its own go-smtp Server, so that
// each connection has its own (redacted) debug trace and the server can wait
// for the connection's goroutine to end.
func (s *Server) serveConn(tc *trackedConn, id int, listener string) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
	}()
	cs := &connState{id: id, listener: listener, remote: tc.RemoteAddr().String()}
	s.log.printf("[c%d] connect from %s (%s)", id, cs.remote, listener)

	var trace *traceWriter
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c, cs: cs}, nil
	}))
	srv.Domain = s.cfg.Domain
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes
	srv.MaxRecipients = s.cfg.MaxRecipients
	srv.AllowInsecureAuth = s.cfg.AllowInsecureAuth
	srv.ReadTimeout = s.cfg.ReadTimeout
	srv.WriteTimeout = s.cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = errorLog{log: s.log, id: id, closing: s.done}
	if s.debug != nil {
		trace = newTraceWriter(s.debug, fmt.Sprintf("[c%d] ", id))
		srv.Debug = trace
	}

	var c net.Conn = tc
	switch {
	case listener == listenerSMTPS:
		c = tls.Server(tc, s.tlsConf)
		srv.TLSConfig = s.tlsConf // go-smtp then does not offer STARTTLS
	case !s.cfg.DisableSTARTTLS:
		srv.TLSConfig = s.tlsConf
	}

	// Serve returns once the connection is closed (by either side), since
	// the one-connection listener closes with it; Shutdown then waits for
	// go-smtp's connection goroutine.
	srv.Serve(newOneConnListener(c, tc.closed))
	srv.Shutdown(context.Background())
	if trace != nil {
		trace.flush()
	}
	s.log.printf("[c%d] disconnected", id)
}

// trackedConn is an accepted connection whose Close can be observed.
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func newTrackedConn(c net.Conn) *trackedConn {
	return &trackedConn{Conn: c, closed: make(chan struct{})}
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// oneConnListener hands out one connection, then blocks until that
// connection is closed.
type oneConnListener struct {
	mu     sync.Mutex
	c      net.Conn
	addr   net.Addr
	closed <-chan struct{}
}

func newOneConnListener(c net.Conn, closed <-chan struct{}) *oneConnListener {
	return &oneConnListener{c: c, addr: c.LocalAddr(), closed: closed}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.addr }
