// Package smtp is tlsmail's SMTP client (RFC 5321) with STARTTLS (RFC 3207),
// implicit TLS (RFC 8314), AUTH (RFC 4954), PIPELINING (RFC 2920), SIZE
// (RFC 1870), 8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531).
//
// TLS goes through a secchan.Provider, so the same client runs over Go's
// crypto/tls or Windows Schannel. Every read and write is under a deadline,
// replies are bounded in size, and every failure is an *Error whose Kind says
// what class of problem it is and whose Fix says what to do.
package smtp

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/transcript"
)

// TLSMode says how the connection is secured.
type TLSMode string

const (
	// Implicit TLS: the handshake starts as soon as TCP connects (RFC 8314,
	// port 465).
	Implicit TLSMode = "implicit"
	// StartTLS: plain SMTP, then STARTTLS, which is required (RFC 3207,
	// ports 587 and 25).
	StartTLS TLSMode = "starttls"
	// None: no TLS at all. Passwords are refused unless Auth.AllowPlaintext.
	None TLSMode = "none"
)

// Name is the mode as people call it: "implicit TLS", "STARTTLS" or
// "no TLS" (an unknown mode is its own text).
func (m TLSMode) Name() string {
	switch m {
	case Implicit:
		return "implicit TLS"
	case StartTLS:
		return "STARTTLS"
	case None:
		return "no TLS"
	}
	return string(m)
}

// DefaultMode returns the mode conventional for port: implicit TLS for 465,
// STARTTLS otherwise.
func DefaultMode(port string) TLSMode {
	if port == "465" || port == "smtps" {
		return Implicit
	}
	return StartTLS
}

// DefaultTimeout bounds each step when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Config configures a Client. The zero value means STARTTLS with the
// crypto/tls provider, system roots and no authentication.
//
// Network use besides the SMTP server: by default (TLS.Trust.Revocation
// empty, which is trust.RevocationSoft) the handshake checks the
// revocation of each certificate of the server's chain below the root. A
// stapled OCSP response answers without any fetch; otherwise the
// certificate's CRL (RFC 5280 section 4.2.1.13) and OCSP (RFC 6960) URLs
// are fetched over plain http (the answers are signed), through the proxy
// that http_proxy names, each fetch bounded by trust.DefaultFetchTimeout.
// With no TLS.Trust.Checker, every Client of the process shares
// trust.DefaultChecker: it keeps answers in memory until their nextUpdate,
// and on disk in trust.DefaultRevocationCacheDir() (tlsmail/revocation
// under os.UserCacheDir(), e.g. ~/.cache/tlsmail/revocation), shared with
// the user's other tlsmail processes; a failed fetch is remembered for 5
// minutes. So a CRL is fetched once per process at most, and once per
// nextUpdate across processes, not once per handshake. Set
// TLS.Trust.Revocation to trust.RevocationOff to make no such request, or
// give TLS.Trust.Checker a trust.Checker of your own (NoDiskCache keeps it
// in memory, CacheDir moves it, Fetch replaces its HTTP client). With the
// Windows system verifier (secchan/schannel), Windows' chain engine
// fetches and caches what it checks itself.
type Config struct {
	// Mode is the TLS mode; empty means StartTLS.
	Mode TLSMode
	// Provider runs TLS handshakes; nil means crypto/tls (gotls.Provider).
	Provider secchan.Provider
	// TLS holds the TLS settings. ServerName defaults to the host of the
	// address dialled.
	TLS *secchan.Config
	// LocalName is the name sent with EHLO; empty means "localhost".
	LocalName string
	// Auth, when non-nil with a Username, authenticates after TLS.
	Auth *Auth
	// Transcript receives the session log; nil writes none.
	Transcript *transcript.Log
	// Timeout bounds each step (connect, each reply, each write, the
	// handshake); zero means DefaultTimeout. A context deadline, when
	// earlier, wins.
	Timeout time.Duration
	// DialContext opens the TCP connection; nil uses DialTCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnSilentGreeting, when set, is called once (from another goroutine)
	// when a plaintext session (StartTLS or None) has had no greeting for
	// SilentGreetingAfter, or half the Timeout if that is shorter. A server
	// may pause before its greeting (RFC 5321 section 4.5.3.2.1 lets a
	// client wait five minutes), so this is no error; but a port that
	// expects implicit TLS waits in silence too, for a handshake that never
	// comes, and a caller can say so while the wait goes on.
	OnSilentGreeting func(waited time.Duration)
	// RequireDSN, when set, makes Dial check right after EHLO (after
	// STARTTLS, before AUTH) that the server offers DSN (RFC 3461), as
	// msmtp does for a message that asks for delivery status
	// notifications: without it, Dial fails with the KindUnavailable
	// error Send would give at MAIL FROM, and no login is tried.
	RequireDSN bool
}

// SilentGreetingAfter is how long a plaintext session waits for the
// greeting before it counts the server as silent (see
// Config.OnSilentGreeting and SilentGreetingError).
const SilentGreetingAfter = 5 * time.Second

// Client is an SMTP session. It is not safe for concurrent use.
type Client struct {
	cfg        Config
	log        *transcript.Log
	serverName string

	conn net.Conn // the current connection: raw, or TLS over raw
	tls  secchan.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	greeting *Reply
	ehlo     *Reply
	ext      map[string]string
	helo     bool // the server did not take EHLO
	authMech string
	// inTx: MAIL FROM was sent and the transaction has not ended (by
	// the reply to the end of data, or RSET), so the next Send resets
	// the session first.
	inTx bool
}

// Dial connects to addr ("host:port"), reads the greeting, says EHLO, runs
// STARTTLS or implicit TLS as configured, says EHLO again and
// authenticates. The returned Client is ready for Send.
func Dial(ctx context.Context, addr string, cfg *Config) (*Client, error) {
	c := newClient(cfg)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Kind: KindConfig, Op: "connect", Err: err, Fix: "give the server as HOST:PORT"}
	}
	if c.serverName == "" {
		c.serverName = host
	}
	c.log.Event("connecting to %s", addr)
	dctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	dial := c.cfg.DialContext
	if dial == nil {
		dial = DialTCP
	}
	conn, err := dial(dctx, "tcp", addr)
	if err != nil {
		e := ioError(dctx, "connect", err)
		if e.HostNotFound() {
			e.Fix = fmt.Sprintf("the name %q does not resolve; check the server's host name", host)
		}
		return nil, e
	}
	c.log.Event("connected to %s from %s", conn.RemoteAddr(), conn.LocalAddr())
	if err := c.start(ctx, conn); err != nil {
		c.quitAfter(ctx, err)
		return nil, err
	}
	return c, nil
}

// NewClient runs the session setup of Dial over an existing connection.
// cfg.TLS.ServerName must be set when TLS is used (unless cfg.TLS.Insecure):
// without it the handshake is refused with a KindConfig error, since the
// certificate's name could not be checked.
func NewClient(ctx context.Context, conn net.Conn, cfg *Config) (*Client, error) {
	c := newClient(cfg)
	if err := c.start(ctx, conn); err != nil {
		c.quitAfter(ctx, err)
		return nil, err
	}
	return c, nil
}

// quitTimeout bounds the QUIT that ends a session after a refused step.
const quitTimeout = 5 * time.Second

// quitAfter ends the session after err stopped its setup: with QUIT when
// the session is still in step, that is when err is a complete reply the
// server gave (a refused greeting, EHLO, STARTTLS or AUTH) and not 421,
// with which the server closes the connection itself (RFC 5321 sections
// 3.1, 3.8 and 4.1.1.10), or when the server lacks the DSN that
// Config.RequireDSN asks for; then the connection is closed. A server that
// answered 535 then logs a client that said goodbye, not a lost
// connection. err stays the caller's error; the QUIT's own outcome only
// shows in the transcript.
func (c *Client) quitAfter(ctx context.Context, err error) {
	var e *Error
	inStep := errors.As(err, &e) && (e.Reply != nil && e.Reply.Code != 421 &&
		e.Kind != KindProtocol && e.Kind != KindStartTLSInjection || errors.Is(err, errNoDSN))
	if c.conn != nil && inStep {
		qctx, cancel := context.WithTimeout(ctx, min(c.timeout(), quitTimeout))
		c.Quit(qctx)
		cancel()
	}
	c.Close()
}

func newClient(cfg *Config) *Client {
	c := &Client{}
	if cfg != nil {
		c.cfg = *cfg
	}
	if c.cfg.Mode == "" {
		c.cfg.Mode = StartTLS
	}
	if c.cfg.Provider == nil {
		c.cfg.Provider = gotls.Provider{}
	}
	if c.cfg.LocalName == "" {
		c.cfg.LocalName = "localhost"
	}
	c.cfg.TLS = c.cfg.TLS.Clone()
	c.serverName = c.cfg.TLS.ServerName
	c.log = c.cfg.Transcript
	return c
}

func (c *Client) timeout() time.Duration {
	if c.cfg.Timeout > 0 {
		return c.cfg.Timeout
	}
	return DefaultTimeout
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, readBufferBytes)
	c.bw = bufio.NewWriterSize(conn, 16*1024)
}

// start runs everything between TCP connect and ready-to-send.
func (c *Client) start(ctx context.Context, conn net.Conn) error {
	c.setConn(conn)
	if err := c.validate(); err != nil {
		return err
	}
	if c.cfg.Mode == Implicit {
		if err := c.handshake(ctx); err != nil {
			return err
		}
	}
	if err := c.readGreeting(ctx); err != nil {
		return err
	}
	if err := c.hello(ctx); err != nil {
		return err
	}
	if c.cfg.Mode == StartTLS {
		if err := c.startTLS(ctx); err != nil {
			return err
		}
	}
	if c.cfg.RequireDSN {
		if ok, _ := c.Extension("DSN"); !ok {
			return errNoDSNError("EHLO")
		}
	}
	if c.cfg.Auth != nil && c.cfg.Auth.Username != "" {
		if err := c.auth(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) validate() error {
	switch c.cfg.Mode {
	case Implicit, StartTLS, None:
	default:
		return &Error{Kind: KindConfig, Op: "connect", Err: fmt.Errorf("unknown TLS mode %q", c.cfg.Mode),
			Fix: "use implicit, starttls or none"}
	}
	a := c.cfg.Auth
	if c.cfg.Mode == None && a != nil && a.Username != "" && !a.AllowPlaintext {
		return &Error{Kind: KindConfig, Op: "AUTH", Err: errors.New("refusing to send a password without TLS"),
			Fix: "use STARTTLS or implicit TLS; to send it in the clear anyway, name the authentication mechanism explicitly as well as choosing no TLS"}
	}
	if err := CheckLocalName(c.cfg.LocalName); err != nil {
		return err
	}
	return nil
}

// CheckLocalName reports whether name can be sent with EHLO, as
// Config.LocalName: a domain or an address literal (RFC 5321 section
// 4.1.1.1) has no space and no control character (to end the line or to
// reach the terminal of whoever reads the server's log), and is at most
// MaxDomainLen octets (section 4.5.3.1.2). "" (the default) passes. The
// error is the KindConfig *Error Dial would return.
func CheckLocalName(name string) error {
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return &Error{Kind: KindConfig, Op: "EHLO", Err: fmt.Errorf("invalid EHLO name %q", name),
			Fix: "give a host name as the EHLO name"}
	}
	if n := len(name); n > MaxDomainLen {
		return &Error{Kind: KindConfig, Op: "EHLO", Err: &LimitError{What: "domain", Value: shorten(name), Len: n, Max: MaxDomainLen},
			Fix: "use a shorter EHLO name"}
	}
	return nil
}

func (c *Client) handshake(ctx context.Context) error {
	tcfg := c.cfg.TLS.Clone()
	if tcfg.ServerName == "" {
		tcfg.ServerName = c.serverName
	}
	if tcfg.Logf == nil {
		tcfg.Logf = c.log.Event
	}
	if tcfg.ServerName == "" && tcfg.Trust.Name == "" && !tcfg.Insecure {
		// Without a name only the chain could be checked, and any
		// certificate the trusted CAs ever issued would pass (RFC 6125
		// section 6: the reference identity comes from the user).
		c.conn.Close()
		return &Error{Kind: KindConfig, Op: "TLS handshake", Err: errors.New("no server name to verify the certificate against"),
			Fix: "set Config.TLS.ServerName (the host the user asked for) when calling NewClient"}
	}
	c.log.Event("TLS handshake (%s provider), verifying the name %q", c.cfg.Provider.Name(), tcfg.ServerName)
	hctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	// The handshake is a step of its own: the connection's deadline becomes
	// the handshake's, not the one the STARTTLS reply was read under (that
	// one ended earlier, shortening the handshake by the reply's wait, and
	// its timeout did not read as the context's).
	stop := c.arm(hctx)
	tc, err := c.cfg.Provider.Client(hctx, c.conn, tcfg)
	stop()
	if err != nil {
		e := handshakeError(hctx, err)
		c.log.Event("TLS handshake failed: %v", err)
		return e
	}
	c.tls = tc
	c.setConn(tc)
	st := tc.State()
	c.log.Event("TLS handshake done: %s, %s%s%s", secchan.VersionName(st.Version), st.CipherName,
		ifs(st.Group != "", ", group "+st.Group), ifs(st.Resumed, ", resumed"))
	for i, cert := range st.PeerCertificates {
		c.log.Event("  certificate %d: %s (issuer %s, expires %s)", i, cert.Subject, cert.Issuer, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	if st.Verified {
		c.log.Event("certificate verified for %q", tcfg.ServerName)
	}
	for _, p := range st.Report.Problems {
		c.log.Event("certificate %s: %s", p.Severity, p.Summary)
	}
	return nil
}

func ifs(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func (c *Client) readGreeting(ctx context.Context) error {
	if c.tls != nil {
		r, err := c.read(ctx, "greeting")
		if err != nil {
			return err
		}
		return c.checkGreeting(r)
	}
	// Plaintext: a server that stays silent may be waiting for a TLS
	// handshake.
	silent := min(SilentGreetingAfter, c.timeout()/2)
	start := time.Now()
	if f := c.cfg.OnSilentGreeting; f != nil {
		called := make(chan struct{})
		t := time.AfterFunc(silent, func() { defer close(called); f(silent) })
		// The session goes on only once a call under way has returned.
		defer func() {
			if !t.Stop() {
				<-called
			}
		}()
	}
	stop := c.arm(ctx)
	heard := false
	r, err := readReply(c.br, func(b []byte) { heard = true; c.log.Server(b) })
	stop()
	if err != nil {
		e := ioError(ctx, "greeting", err)
		waited := time.Since(start)
		if !heard && waited >= silent && (e.Kind == KindTimeout || e.Kind == KindNetwork) && !errors.Is(ctx.Err(), context.Canceled) {
			e.Err = &SilentGreetingError{Waited: waited.Round(100 * time.Millisecond), Closed: e.Kind == KindNetwork, Err: e.Err}
			e.Fix = "the server sent nothing at all: if this port expects implicit TLS (like port 465), use implicit TLS; otherwise check the server and port"
			if e.Kind == KindTimeout {
				e.Fix += ", or allow more time"
			}
		}
		return e
	}
	return c.checkGreeting(r)
}

// checkGreeting accepts a 220 greeting (RFC 5321 section 4.2).
func (c *Client) checkGreeting(r *Reply) error {
	c.greeting = r
	if r.Code != 220 {
		kind := KindProtocol
		if r.Code/100 == 5 || r.Code/100 == 4 {
			kind = KindUnavailable
		}
		e := replyError("greeting", r, kind)
		if kind == KindUnavailable {
			e.Fix = "the server refused service; try later or another server"
		}
		return e
	}
	return nil
}

// hello sends EHLO, falling back to HELO when EHLO is not understood
// (RFC 5321 section 3.2). The extensions of the latest EHLO replace the
// earlier ones: after STARTTLS only the second answer is trusted.
func (c *Client) hello(ctx context.Context) error {
	r, err := c.cmd(ctx, "EHLO", "EHLO "+c.cfg.LocalName)
	if err != nil {
		return err
	}
	if r.Code == 250 {
		c.ehlo, c.ext, c.helo = r, extensions(r), false
		return nil
	}
	if r.Code == 500 || r.Code == 502 || r.Code == 504 {
		if c.cfg.Mode == StartTLS && c.tls == nil {
			return &Error{Kind: KindStartTLSUnavailable, Op: "EHLO", Reply: r,
				Fix: "the server does not speak ESMTP, so it cannot offer STARTTLS; use implicit TLS if it has port 465, or no TLS to send in the clear"}
		}
		r, err = c.cmd(ctx, "HELO", "HELO "+c.cfg.LocalName)
		if err != nil {
			return err
		}
		if r.Code == 250 {
			c.ehlo, c.ext, c.helo = r, map[string]string{}, true
			return nil
		}
	}
	kind := KindProtocol
	if r.Code/100 == 5 || r.Code/100 == 4 {
		kind = KindUnavailable
	}
	return replyError("EHLO", r, kind)
}

// startTLS runs RFC 3207. Bytes buffered after the 220 reply were sent by
// someone before the handshake and would be taken as if they came over TLS
// (the CVE-2011-0411 class): they are an error, never silently used or
// dropped.
func (c *Client) startTLS(ctx context.Context) error {
	if _, ok := c.ext["STARTTLS"]; !ok {
		return &Error{Kind: KindStartTLSUnavailable, Op: "STARTTLS", Reply: c.ehlo,
			Err: errors.New("the server does not offer STARTTLS"),
			Fix: "tlsmail will not send in the clear: use implicit TLS if the server has port 465, or no TLS only if you accept plaintext"}
	}
	r, err := c.cmd(ctx, "STARTTLS", "STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		e := replyError("STARTTLS", r, KindStartTLSUnavailable)
		e.Kind = KindStartTLSUnavailable
		return e
	}
	if n := c.br.Buffered(); n > 0 {
		extra, _ := c.br.Peek(n)
		c.log.Server(extra)
		return &Error{Kind: KindStartTLSInjection, Op: "STARTTLS",
			Err: fmt.Errorf("the server sent %d bytes after its 220 reply to STARTTLS, before the TLS handshake", n),
			Fix: "something on the path is injecting commands or replies (CVE-2011-0411 class); do not use this server or network until it is fixed"}
	}
	if err := c.handshake(ctx); err != nil {
		return err
	}
	return c.hello(ctx)
}

func (c *Client) auth(ctx context.Context) error {
	a := c.cfg.Auth
	if c.tls == nil && !a.AllowPlaintext {
		return &Error{Kind: KindConfig, Op: "AUTH", Err: errors.New("refusing to authenticate without TLS")}
	}
	offered, ok := c.ext["AUTH"]
	if !ok {
		return &Error{Kind: KindAuth, Op: "AUTH", Reply: c.ehlo, Err: errors.New("the server offers no authentication"),
			Fix: "give no user name if this server relays without authentication, or use the submission port (587 or 465)"}
	}
	mech, err := a.chooseMechanism(offered)
	if err != nil {
		return &Error{Kind: KindAuth, Op: "AUTH", Err: err, Fix: "choose an authentication mechanism the server offers"}
	}
	host, port := c.serverName, 0
	if ta, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
		port = ta.Port
	}
	sc, err := a.saslClient(mech, host, port)
	if err != nil {
		return &Error{Kind: KindConfig, Op: "AUTH", Err: err, Fix: saslFix(err)}
	}
	_, ir, err := sc.Start()
	if err != nil {
		return &Error{Kind: KindAuth, Op: "AUTH", Err: err, Fix: saslFix(err)}
	}
	line := "AUTH " + mech
	var deferred []byte // an initial response too long for the AUTH line
	if ir != nil {
		enc := base64.StdEncoding.EncodeToString(ir)
		if len(enc) == 0 {
			enc = "="
		}
		if len(enc)+2 > maxAuthLine {
			// Not even a line of its own holds it (RFC 4954 section 4
			// limits a response line to 12288 octets too): a server
			// refuses it, whatever it answers (the embedded one says
			// 454, a temporary failure), so nothing is sent.
			return &Error{Kind: KindConfig, Op: "AUTH",
				Err: fmt.Errorf("%s: the initial response is %d octets encoded, more than the %d of an SMTP line (RFC 4954 section 4)", mech, len(enc), maxAuthLine-2),
				Fix: "check what the password source gives: an access token this long is not one, or the server cannot take it over SMTP"}
		}
		if len(line)+1+len(enc)+2 > maxAuthLine {
			// RFC 4954 section 4: the client must not use the initial
			// response when it would make the line exceed 12288 octets;
			// it sends it after the server's empty challenge instead
			// (RFC 4422 section 5.1).
			deferred = ir
		} else {
			line += " " + enc
		}
	}
	var r *Reply
	if ir == nil || deferred != nil {
		r, err = c.cmd(ctx, "AUTH", line) // no secret on this line
	} else {
		r, err = c.cmdSecret(ctx, "AUTH", line, "AUTH "+mech)
	}
	if err == nil && deferred != nil && r.Code == 334 {
		if strings.TrimSpace(r.Text()) != "" {
			c.cmdSecret(ctx, "AUTH", "*", "") // cancel the exchange (RFC 4954 section 4)
			return &Error{Kind: KindProtocol, Op: "AUTH", Reply: r,
				Err: errors.New("the server sent a challenge where an empty one asks for the initial response"),
				Fix: "the server does not follow RFC 4422 section 5.1; try another mechanism, or report it to the server's operator"}
		}
		r, err = c.cmdSecret(ctx, "AUTH", base64.StdEncoding.EncodeToString(deferred), "")
	}
	for err == nil && r.Code == 334 {
		var challenge []byte
		challenge, err = base64.StdEncoding.DecodeString(strings.TrimSpace(r.Text()))
		if err != nil {
			return &Error{Kind: KindProtocol, Op: "AUTH", Reply: r, Err: fmt.Errorf("undecodable challenge: %w", err),
				Fix: "the server's AUTH challenge is not base64 (RFC 4954 section 4); try another mechanism, or report it to the server's operator"}
		}
		var resp []byte
		if resp, err = sc.Next(challenge); err != nil {
			c.cmdSecret(ctx, "AUTH", "*", "") // cancel the exchange (RFC 4954 section 4)
			return &Error{Kind: KindAuth, Op: "AUTH", Err: err, Fix: saslFix(err)}
		}
		r, err = c.cmdSecret(ctx, "AUTH", base64.StdEncoding.EncodeToString(resp), "")
	}
	if err != nil {
		return err
	}
	if r.Code != 235 {
		e := replyError("AUTH", r, KindAuth)
		e.Kind = KindAuth
		if r.Code/100 == 4 {
			e.Fix = "a temporary authentication failure; try again later"
		} else if e.Fix == "" || r.Code != 535 {
			e.Fix = fmt.Sprintf("the server refused %s authentication; check the credentials, or choose another authentication mechanism", mech)
		}
		if oc, ok := sc.(*oauthClient); ok && oc.refusal() != "" {
			// The server's status may repeat the token.
			e.Err = errors.New(transcript.Redact(oc.refusal(), c.authSecrets("")))
			if r.Code/100 != 4 {
				e.Fix = "the access token is invalid, expired or lacks the scope the server names; get a fresh token (the password command should print a current one)"
			}
		}
		return e
	}
	if m, ok := sc.(interface{ verified() bool }); ok && !m.verified() {
		return &Error{Kind: KindAuth, Op: "AUTH", Reply: r,
			Err: fmt.Errorf("the server accepted %s without proving that it knows the password (no valid server signature)", mech),
			Fix: "the server is misconfigured or not the one it claims to be; choose another authentication mechanism, and check the server"}
	}
	c.authMech = mech
	return nil
}

// read reads one reply under the step deadline.
func (c *Client) read(ctx context.Context, op string) (*Reply, error) {
	if c.conn == nil {
		return nil, errClosed(op)
	}
	stop := c.arm(ctx)
	defer stop()
	r, err := readReply(c.br, c.log.Server)
	if err != nil {
		return nil, ioError(ctx, op, err)
	}
	return r, nil
}

// cmd sends one command line and reads its reply.
func (c *Client) cmd(ctx context.Context, op, line string) (*Reply, error) {
	if err := c.send(ctx, op, line, ""); err != nil {
		return nil, err
	}
	return c.read(ctx, op)
}

// cmdSecret is cmd for a line the transcript must not show; keep is what
// it shows instead. A server may repeat the secret in its reply (a
// debugging or hostile server): the reply's lines, in the transcript, in
// the Reply and in an error about it, show it as transcript.Redacted.
func (c *Client) cmdSecret(ctx context.Context, op, line, keep string) (*Reply, error) {
	if err := c.send(ctx, op, line, keep+"\x00"); err != nil {
		return nil, err
	}
	secrets := c.authSecrets(strings.TrimSpace(strings.TrimPrefix(line, keep)))
	if c.conn == nil {
		return nil, errClosed(op)
	}
	stop := c.arm(ctx)
	defer stop()
	r, err := readReply(c.br, func(b []byte) { c.log.ServerRedacted(b, secrets) })
	if err != nil {
		return nil, ioError(ctx, op, &redactedError{err: err, secrets: secrets})
	}
	for i, l := range r.Lines {
		r.Lines[i] = transcript.Redact(l, secrets)
	}
	return r, nil
}

// minRedacted is the shortest secret redacted from a server's reply:
// shorter ones ("*", "=", a two-letter password) would hide ordinary text.
const minRedacted = 4

// authSecrets is what a server could repeat of a secret the client sent:
// sent (the secret part of the line: a SASL response in base64), and the
// password or token, as it is and in base64, each when at least
// minRedacted bytes long.
func (c *Client) authSecrets(sent string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= minRedacted {
			out = append(out, s)
		}
	}
	add(sent)
	if a := c.cfg.Auth; a != nil {
		add(a.Password)
		add(strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(a.Password)), "="))
	}
	return out
}

// redactedError is an error reading a reply to a secret line, with the
// secrets it may quote (a malformed line) redacted from its text.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return transcript.Redact(e.err.Error(), e.secrets) }
func (e *redactedError) Unwrap() error { return e.err }

// send writes one command line and flushes. secret, when non-empty, is the
// redacted form for the transcript, ending in NUL.
func (c *Client) send(ctx context.Context, op, line, secret string) error {
	if err := c.queue(op, line, secret); err != nil {
		return err
	}
	return c.flush(ctx, op)
}

// queue buffers a command line without sending it (for pipelining).
func (c *Client) queue(op, line, secret string) error {
	if c.conn == nil {
		return errClosed(op)
	}
	if strings.ContainsAny(line, "\r\n") {
		return &Error{Kind: KindUsage, Op: op, Err: fmt.Errorf("command contains a line break: %q", line),
			Fix: "remove CR and LF characters from addresses and names"}
	}
	b := []byte(line + "\r\n")
	if secret != "" {
		c.log.ClientSecret(b, strings.TrimSuffix(secret, "\x00"))
	} else {
		c.log.Client(b)
	}
	c.bw.Write(b)
	return nil
}

func (c *Client) flush(ctx context.Context, op string) error {
	stop := c.arm(ctx)
	defer stop()
	if err := c.bw.Flush(); err != nil {
		return ioError(ctx, op, err)
	}
	return nil
}

// arm sets the connection deadline to the earlier of the step timeout and
// the context deadline, and interrupts blocked I/O when ctx is cancelled.
func (c *Client) arm(ctx context.Context) (stop func()) {
	d := time.Now().Add(c.timeout())
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	conn := c.conn
	conn.SetDeadline(d)
	cancelStop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { cancelStop() }
}

func errClosed(op string) *Error {
	return &Error{Kind: KindNetwork, Op: op, Err: net.ErrClosed, Fix: "the session is closed; dial again"}
}

// Extensions returns the EHLO keywords and parameters the server announced
// (after STARTTLS, those of the second EHLO), keys upper-case.
func (c *Client) Extensions() map[string]string { return c.ext }

// Extension reports whether the server announced keyword and its parameter.
func (c *Client) Extension(keyword string) (bool, string) {
	v, ok := c.ext[strings.ToUpper(keyword)]
	return ok, v
}

// Greeting returns the server's 220 greeting.
func (c *Client) Greeting() *Reply { return c.greeting }

// TLS returns the TLS state, and false when the session is not encrypted.
func (c *Client) TLS() (secchan.State, bool) {
	if c.tls == nil {
		return secchan.State{}, false
	}
	return c.tls.State(), true
}

// AuthMechanism returns the mechanism used to authenticate, or "".
func (c *Client) AuthMechanism() string { return c.authMech }

// Reset sends RSET, ending a mail transaction (RFC 5321 section 4.1.1.5).
func (c *Client) Reset(ctx context.Context) error {
	r, err := c.cmd(ctx, "RSET", "RSET")
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return replyError("RSET", r, KindProtocol)
	}
	c.inTx = false
	return nil
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	defer c.Close()
	r, err := c.cmd(ctx, "QUIT", "QUIT")
	if err != nil {
		return err
	}
	if r.Code != 221 {
		return replyError("QUIT", r, KindProtocol)
	}
	return nil
}

// Close closes the connection without QUIT.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
