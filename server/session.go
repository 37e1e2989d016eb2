package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// errAuthRequired is 530 5.7.0 (RFC 4954 section 6).
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message: "Authentication required: AUTH first (after STARTTLS)"}

// errDataTimeout ends a session whose message did not arrive in time
// (RFC 5321 section 3.8: 421, then close).
var errDataTimeout = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
	Message: "Timeout reading the message data; closing the connection"}

// errStore is sent when the message could not be written to disk.
var errStore = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "Local error storing the message; try again later"}

// session is one SMTP session (from EHLO to QUIT, or to STARTTLS, after
// which go-smtp starts a fresh one as RFC 3207 section 4.2 requires). It
// implements smtp.Session and smtp.AuthSession.
type session struct {
	srv  *Server
	conn *smtp.Conn
	cs   *connState

	// mu guards the fields below: with CHUNKING (RFC 3030), go-smtp calls
	// Data on its own goroutine while the connection goroutine may call
	// Reset.
	mu       sync.Mutex
	user     string
	from     string
	to       []string
	body     string
	smtputf8 bool
	ret      string   // RET= (RFC 3461)
	envid    string   // ENVID=
	notify   []string // NOTIFY= per recipient, in to's order
	helo     string
	tls      *TLSInfo
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

// AuthMechanisms lists PLAIN and LOGIN when users are configured, and
// OAUTHBEARER and XOAUTH2 when tokens are. go-smtp advertises them only
// when AUTH is allowed (after TLS, unless AllowInsecureAuth).
func (s *session) AuthMechanisms() []string {
	var m []string
	if len(s.srv.cfg.Users) > 0 {
		m = append(m, mechPlain, mechLogin)
	}
	if len(s.srv.cfg.Tokens) > 0 {
		m = append(m, mechOAuthBearer, mechXOAuth2)
	}
	return m
}

// authRequired: MAIL needs a successful AUTH first.
func (s *session) authRequired() bool {
	return len(s.srv.cfg.Users) > 0 || len(s.srv.cfg.Tokens) > 0
}

// Auth starts a SASL exchange (RFC 4954 section 4).
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.authRequired() {
		return nil, smtp.ErrAuthUnsupported
	}
	users := s.srv.cfg.Users
	if mech == mechOAuthBearer || mech == mechXOAuth2 {
		users = s.srv.cfg.Tokens
	}
	check := passwordChecker(users, func(user string) {
		s.mu.Lock()
		s.user = user
		s.mu.Unlock()
		s.srv.log.printf("[c%d] AUTH %s ok: user %q", s.cs.id, mech, user)
	})
	logged := func(user, pass string) error {
		err := check(user, pass)
		if err != nil {
			s.srv.log.printf("[c%d] AUTH %s refused for user %q", s.cs.id, mech, user)
		}
		return err
	}
	switch {
	case mech == mechPlain && len(users) > 0:
		return &limitedSASL{Server: &plainServer{check: logged}, s: s}, nil
	case mech == mechLogin && len(users) > 0:
		return &limitedSASL{Server: &loginServer{check: logged}, s: s}, nil
	case mech == mechOAuthBearer && len(users) > 0:
		return &oauthServer{check: logged, fail: s.authFailed}, nil
	case mech == mechXOAuth2 && len(users) > 0:
		return &oauthServer{check: logged, fail: s.authFailed, xoauth2: true}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// errAuthTooMany ends a connection after MaxAuthFailures failed AUTH
// exchanges (RFC 5321 section 3.8: 421, then close).
var errAuthTooMany = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
	Message: "Too many failed authentication attempts; closing the connection"}

// limitedSASL slows down and then ends a connection that keeps failing
// AUTH: every failed exchange (wrong credentials, malformed response) is
// answered only after AuthFailureDelay, and the MaxAuthFailures-th with 421
// and a hang-up, as Postfix does with smtpd_error_sleep_time and
// smtpd_hard_error_limit. A password guesser gets at most MaxAuthFailures
// guesses per connection, one per AuthFailureDelay, on at most
// MaxSessionsPerAddr connections per address.
type limitedSASL struct {
	sasl.Server
	s *session
}

func (l *limitedSASL) Next(resp []byte) ([]byte, bool, error) {
	challenge, done, err := l.Server.Next(resp)
	if err != nil {
		err = l.s.authFailed(err)
	}
	return challenge, done, err
}

// authFailed counts a failed AUTH exchange, waits AuthFailureDelay (or
// until the server closes or the connection drops), and returns the reply
// to send: err, or errAuthTooMany once the limit is reached, after which
// the connection is closed as soon as that reply is written.
func (s *session) authFailed(err error) error {
	cs, cfg := s.cs, &s.srv.cfg
	cs.authFailures++
	if d := cfg.AuthFailureDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.srv.done:
			t.Stop()
		case <-cs.conn.closed:
			t.Stop()
		}
	}
	if cs.authFailures >= cfg.MaxAuthFailures {
		s.srv.log.printf("[c%d] %d failed AUTH attempts (MaxAuthFailures): closing the connection", cs.id, cs.authFailures)
		cs.conn.hangup.Store(true)
		return errAuthTooMany
	}
	return err
}

// Mail starts a transaction (RFC 5321 section 4.1.1.2).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	authed := s.user != ""
	s.mu.Unlock()
	if s.authRequired() && !authed {
		s.srv.log.printf("[c%d] MAIL FROM:<%s> refused: not authenticated", s.cs.id, from)
		return errAuthRequired
	}
	if h := s.srv.cfg.RejectMail; h != nil {
		if r := h(from); r != nil {
			s.srv.log.printf("[c%d] MAIL FROM:<%s> refused by hook: %s", s.cs.id, from, r)
			return r.smtpError()
		}
	}
	// What the connection knows is read here, on the connection's
	// goroutine: with CHUNKING, Data runs on another one.
	var ti *TLSInfo
	if st, ok := s.conn.TLSConnectionState(); ok {
		ti = tlsInfo(st, s.cs.listener == listenerSMTP)
	}
	helo := s.conn.Hostname()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from, s.to = from, nil
	s.body, s.smtputf8 = "", false
	s.ret, s.envid, s.notify = "", "", nil
	if opts != nil {
		s.body, s.smtputf8 = string(opts.Body), opts.UTF8
		s.ret, s.envid = string(opts.Return), opts.EnvelopeID
	}
	s.helo, s.tls = helo, ti
	return nil
}

// Rcpt adds a recipient (RFC 5321 section 4.1.1.3).
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if h := s.srv.cfg.RejectRecipient; h != nil {
		if r := h(to); r != nil {
			s.srv.log.printf("[c%d] RCPT TO:<%s> refused by hook: %s", s.cs.id, to, r)
			return r.smtpError()
		}
	}
	var notify string
	if opts != nil && len(opts.Notify) > 0 {
		n := make([]string, len(opts.Notify))
		for i, v := range opts.Notify {
			n[i] = string(v)
		}
		notify = strings.Join(n, ",")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if notify != "" && s.notify == nil {
		s.notify = make([]string, len(s.to), len(s.to)+1)
	}
	if s.notify != nil {
		s.notify = append(s.notify, notify)
	}
	s.to = append(s.to, to)
	return nil
}

// Data receives the message (RFC 5321 section 4.1.1.4) into a temporary
// file, then stores it and answers "250 2.0.0 Ok: queued as <id>".
func (s *session) Data(r io.Reader) error {
	s.mu.Lock()
	env := Envelope{
		From:       s.from,
		To:         append([]string(nil), s.to...),
		AuthUser:   s.user,
		Body:       s.body,
		SMTPUTF8:   s.smtputf8,
		DSNReturn:  s.ret,
		EnvelopeID: s.envid,
		Notify:     append([]string(nil), s.notify...),
		Helo:       s.helo,
		TLS:        s.tls,
	}
	s.mu.Unlock()
	env.ID = newID()
	env.Listener = s.cs.listener
	env.RemoteAddr = s.cs.remote

	p, err := s.srv.store.begin()
	if err != nil {
		s.srv.log.printf("[c%d] cannot store message: %v", s.cs.id, err)
		return errStore
	}
	if err := p.copyFrom(r); err != nil {
		p.abort()
		s.srv.log.printf("[c%d] DATA failed after %d bytes: %v", s.cs.id, p.size, err)
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // e.g. 552 5.3.4 from the size limit
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			// ReadTimeout or SessionTimeout ran out in the middle of
			// the message: what the client sends next is the rest of
			// it, not commands, so the session cannot go on.
			s.cs.conn.hangup.Store(true)
			return errDataTimeout
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message: "Error reading message data; try again"}
	}
	env.Received = time.Now().UTC()
	env.Size = p.size
	if h := s.srv.cfg.RejectData; h != nil {
		if rep := h(env); rep != nil {
			p.abort()
			s.srv.log.printf("[c%d] message refused by hook: %s", s.cs.id, rep)
			return rep.smtpError()
		}
	}
	m, err := p.commit(env)
	if err != nil {
		s.srv.log.printf("[c%d] cannot store message: %v", s.cs.id, err)
		return errStore
	}
	s.srv.stored(m)
	s.srv.log.printf("[c%d] stored %s: %d bytes from <%s> to %d recipient(s)", s.cs.id, m.ID, m.Size, m.From, len(m.To))
	// go-smtp sends an *SMTPError returned by Data as the reply, whatever
	// its code: this is how the queue id reaches the client.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message: "Ok: queued as " + m.ID}
}

// Reset discards the current transaction (RSET, RFC 5321 section 4.1.1.5).
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from, s.to = "", nil
	s.body, s.smtputf8 = "", false
	s.ret, s.envid, s.notify = "", "", nil
}

// Logout ends the session.
func (s *session) Logout() error { return nil }

// tlsInfo summarises a connection state for the envelope.
func tlsInfo(st tls.ConnectionState, starttls bool) *TLSInfo {
	ti := &TLSInfo{
		Version:     tls.VersionName(st.Version),
		VersionID:   st.Version,
		CipherSuite: tls.CipherSuiteName(st.CipherSuite),
		CipherID:    st.CipherSuite,
		ServerName:  st.ServerName,
		STARTTLS:    starttls,
		DidResume:   st.DidResume,
	}
	// PeerCertificates are only kept by crypto/tls when they verified
	// against ClientCAs (VerifyClientCertIfGiven or stricter).
	if len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 {
		ti.ClientCertSubject = st.PeerCertificates[0].Subject.String()
	}
	return ti
}

// smtpError turns a hook's reply into what go-smtp sends. A code outside
// 4xx/5xx (a hook bug) becomes 451 4.3.0, so a refusal is never mistaken for
// acceptance; CR and LF are removed so the reply stays one line.
func (r *Reply) smtpError() *smtp.SMTPError {
	code, enh, text := r.Code, r.Enhanced, r.Text
	if code < 400 || code > 599 {
		code, enh, text = 451, [3]int{4, 3, 0}, "Refused (test hook returned an invalid reply code)"
	}
	text = strings.NewReplacer("\r", " ", "\n", " ").Replace(text)
	if text == "" {
		text = "Refused"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enh), Message: text}
}
