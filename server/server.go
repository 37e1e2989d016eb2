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
	"sync/atomic"
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
	perAddr map[string]int // open sessions by clientKey
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
	cfg.Tokens = maps.Clone(cfg.Tokens)
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: "start", Err: err, Fix: "pass a context that is not done"}
	}
	s := &Server{
		cfg:     cfg,
		log:     &logger{w: newLockedWriter(cfg.Log)},
		debug:   newLockedWriter(cfg.Debug),
		conns:   make(map[*trackedConn]struct{}),
		perAddr: make(map[string]int),
		notify:  make(chan struct{}),
		done:    make(chan struct{}),
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

// MessagesDir is the directory the messages are stored in (Dir's
// messages/): a .eml file of the DATA bytes and a .json file of the
// envelope and TLS details for each.
func (s *Server) MessagesDir() string { return s.store.dir }

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
// closing or full, or when its client address already holds
// MaxSessionsPerAddr sessions.
func (s *Server) register(nc net.Conn, listener string) (*trackedConn, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		nc.Close()
		return nil, 0, false
	}
	key := clientKey(nc.RemoteAddr())
	var why, text string
	switch {
	case len(s.conns) >= s.cfg.MaxSessions:
		why = fmt.Sprintf("%d sessions open (MaxSessions)", len(s.conns))
		text = "Too many sessions, try again later"
	case s.perAddr[key] >= s.cfg.MaxSessionsPerAddr:
		why = fmt.Sprintf("%d sessions open from %s (MaxSessionsPerAddr)", s.perAddr[key], key)
		text = "Too many sessions from your address, try again later"
	}
	if why != "" {
		// RFC 5321 section 3.8: 421 when the service is unavailable.
		// Over implicit TLS the client would not understand plain text,
		// so the connection is just closed.
		if listener == listenerSMTP {
			nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			fmt.Fprintf(nc, "421 4.7.0 %s %s\r\n", s.cfg.Domain, text)
		}
		nc.Close()
		s.log.printf("refused %s: %s", nc.RemoteAddr(), why)
		return nil, 0, false
	}
	s.nextID++
	tc := newTrackedConn(nc, key, time.Now().Add(s.cfg.SessionTimeout))
	s.conns[tc] = struct{}{}
	s.perAddr[key]++
	s.wg.Add(1)
	return tc, s.nextID, true
}

// unregister forgets a session that has ended.
func (s *Server) unregister(tc *trackedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, tc)
	if s.perAddr[tc.client]--; s.perAddr[tc.client] <= 0 {
		delete(s.perAddr, tc.client)
	}
}

// clientKey is what MaxSessionsPerAddr counts by: the IPv4 address, or the
// /64 prefix of an IPv6 address (a host usually has a whole /64 to pick
// addresses from).
func clientKey(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		if p, err := ip.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// connState is what a session knows about its connection.
type connState struct {
	id       int
	listener string
	remote   string
	conn     *trackedConn

	// authFailures counts failed AUTH exchanges (MaxAuthFailures). Only
	// the connection's goroutine touches it: go-smtp runs AUTH there.
	authFailures int
}

// serveConn runs one connection through its own go-smtp Server, so that
// each connection has its own (redacted) debug trace and the server can wait
// for the connection's goroutine to end.
func (s *Server) serveConn(tc *trackedConn, id int, listener string) {
	defer s.wg.Done()
	defer s.unregister(tc)
	cs := &connState{id: id, listener: listener, remote: tc.RemoteAddr().String(), conn: tc}
	s.log.printf("[c%d] connect from %s (%s)", id, cs.remote, listener)
	// Every read deadline go-smtp sets is clamped to tc.end; this timer
	// is the backstop for a session stuck elsewhere (a slow write, a
	// hook): it closes the connection one WriteTimeout after the end.
	backstop := time.AfterFunc(time.Until(tc.end)+s.cfg.WriteTimeout, func() { tc.Close() })
	defer backstop.Stop()

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
	srv.EnableSMTPUTF8 = !s.cfg.DisableSMTPUTF8
	srv.EnableDSN = s.cfg.DSN
	// An OAuth 2.0 token in AUTH's initial response (or in the response
	// after an empty challenge) often exceeds go-smtp's default line of
	// 2000 octets; RFC 4954 section 4 allows AUTH lines of 12288.
	srv.MaxLineLength = maxAuthLine
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
	if !time.Now().Before(tc.end) {
		s.log.printf("[c%d] session time limit (%v, SessionTimeout) reached", id, s.cfg.SessionTimeout)
	}
	s.log.printf("[c%d] disconnected", id)
}

// trackedConn is an accepted connection whose Close can be observed. It
// also enforces the session's limits below go-smtp (and below TLS):
//   - no read deadline goes past end (SessionTimeout);
//   - once a read has timed out, every later read fails at once. go-smtp
//     reads command lines with bufio.Reader.ReadLine, which returns the
//     bytes buffered before a timeout as if they were a whole line and
//     drops the error; go-smtp then runs that fragment and sets a fresh
//     deadline for the next line, so a client dripping a byte within each
//     ReadTimeout was never timed out. Now the fragment's reply is the last
//     one before "421 4.4.2" and the hang-up;
//   - after hangup is set, the next write (the last reply) is followed by
//     closing the connection.
type trackedConn struct {
	net.Conn
	client   string    // clientKey of the remote address
	end      time.Time // the session's deadline
	timedOut atomic.Bool
	hangup   atomic.Bool
	once     sync.Once
	closed   chan struct{}
}

func newTrackedConn(c net.Conn, client string, end time.Time) *trackedConn {
	return &trackedConn{Conn: c, client: client, end: end, closed: make(chan struct{})}
}

// Read makes a timeout sticky (see trackedConn).
func (c *trackedConn) Read(b []byte) (int, error) {
	if c.timedOut.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.Conn.Read(b)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.timedOut.Store(true)
	}
	return n, err
}

// clamp bounds a read deadline by the session's end; a zero deadline (none)
// becomes the end.
func (c *trackedConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.end) {
		return c.end
	}
	return t
}

func (c *trackedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(c.clamp(t)); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.hangup.Load() {
		c.Close()
	}
	return n, err
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
