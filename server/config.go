package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"time"
)

// Defaults applied by Start to zero-valued Config fields.
const (
	DefaultDomain          = "localhost"
	DefaultMaxMessageBytes = 32 << 20 // 32 MiB, advertised as SIZE (RFC 1870)
	DefaultMaxRecipients   = 100      // RFC 5321 section 4.5.3.1.8 minimum
	DefaultReadTimeout     = 2 * time.Minute
	DefaultWriteTimeout    = time.Minute
	DefaultMaxSessions     = 64
	// DefaultSessionTimeout bounds a whole connection, however busy: a
	// client that keeps a session alive with NOOPs (or drips commands just
	// inside ReadTimeout) still leaves after it.
	DefaultSessionTimeout = 30 * time.Minute
	// DefaultAuthFailureDelay is the pause before the reply to a failed
	// AUTH, as Postfix's smtpd_error_sleep_time (1s) does.
	DefaultAuthFailureDelay = time.Second
	// DefaultMaxAuthFailures is how many failed AUTH exchanges one
	// connection may make: the last one is answered 421 4.7.0 and the
	// connection is closed (as Postfix's smtpd_hard_error_limit does for
	// errors in general).
	DefaultMaxAuthFailures = 3
)

// Config describes an embedded server. It is a plain struct: the zero value
// plus an address is a working server (throwaway PKI, temporary directory, no
// authentication). Start does not modify it, and it must not be modified
// while the server runs.
type Config struct {
	// SMTPAddr is the plain SMTP listener (RFC 5321) that offers STARTTLS
	// (RFC 3207), e.g. "127.0.0.1:0" or "127.0.0.1:2525"; "" disables it.
	SMTPAddr string

	// SMTPSAddr is the implicit-TLS listener ("submissions", RFC 8314
	// section 3); "" disables it. At least one address must be set.
	SMTPSAddr string

	// Dir is where ca.pem (for a throwaway PKI) and messages/ go. It is
	// created if missing. "" makes a temporary directory that Close removes.
	Dir string

	// Sync makes the server fsync each message and sidecar before it
	// answers 250. Files appear atomically (rename) either way; Sync only
	// adds durability across a machine crash, at some milliseconds per
	// message, so it is off by default.
	Sync bool

	// Certificate is the server's certificate chain and key. Nil makes a
	// throwaway root → intermediate → leaf for localhost, 127.0.0.1 and ::1
	// with internal/pki and writes ca.pem, server.pem and server.key
	// into Dir; clients then trust CAFile() (or CAPool()).
	Certificate *tls.Certificate

	// MinTLSVersion and MaxTLSVersion bound the server's TLS versions
	// (tls.VersionTLS12, ...); zero means TLS 1.2 minimum (or MaxTLSVersion
	// if that is lower) and the highest version crypto/tls supports.
	MinTLSVersion, MaxTLSVersion uint16

	// DisableSTARTTLS makes the plain listener not offer STARTTLS (for
	// testing clients that must refuse to send in the clear).
	DisableSTARTTLS bool

	// Users maps user names to passwords. When non-empty, AUTH PLAIN
	// (RFC 4616) and AUTH LOGIN are offered (RFC 4954) and MAIL requires a
	// successful AUTH (530 5.7.0 otherwise). Passwords are never logged or
	// stored.
	Users map[string]string

	// Tokens maps user names to OAuth 2.0 bearer tokens. When non-empty,
	// AUTH OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's and Microsoft's
	// older form) are offered, and MAIL requires a successful AUTH as with
	// Users. A refused token gets the error challenge of RFC 7628 section
	// 3.2.2 (a JSON status), then 535 5.7.8 once the client has answered
	// it. Tokens are never logged or stored.
	Tokens map[string]string

	// DSN offers delivery status notifications (RFC 3461): the EHLO
	// reply lists DSN, MAIL's RET= and ENVID= and RCPT's NOTIFY= are
	// accepted and recorded in the Envelope, and RCPT's ORCPT= is accepted
	// (not recorded). Without it those parameters are refused (504 5.5.4),
	// as a server that lacks the extension must not accept them (RFC 5321
	// section 4.1.1.11).
	DSN bool

	// AllowInsecureAuth offers and accepts AUTH before TLS. By default
	// (false) AUTH is offered only on a TLS connection and AUTH in the clear
	// is refused with 523 5.7.10 (RFC 4954 section 4, RFC 5248).
	AllowInsecureAuth bool

	// Domain is the host name in the greeting; "" means "localhost".
	Domain string

	// MaxMessageBytes bounds the DATA size (advertised as SIZE, RFC 1870);
	// 0 means DefaultMaxMessageBytes. Larger messages get 552 5.3.4.
	MaxMessageBytes int64

	// MaxRecipients bounds RCPT commands per message; 0 means
	// DefaultMaxRecipients. More get 452 4.5.3.
	MaxRecipients int

	// MaxSessions bounds concurrent connections; 0 means
	// DefaultMaxSessions. Further connections get 421 4.7.0 and are closed.
	MaxSessions int

	// MaxSessionsPerAddr bounds the concurrent connections from one client
	// address (an IPv4 address, or an IPv6 /64: one host's usual share), so
	// that one host cannot take every slot, as Postfix's anvil
	// (smtpd_client_connection_count_limit) does. 0 means half of
	// MaxSessions, rounded up. Further connections from that address get
	// 421 4.7.0 and are closed; other addresses are still served.
	MaxSessionsPerAddr int

	// SessionTimeout bounds a whole connection, from accept to close,
	// whatever the client sends; 0 means DefaultSessionTimeout. When it
	// passes, the next read fails: the client gets 421 4.4.2 and the
	// connection is closed (at the latest WriteTimeout later, if the
	// server is writing or storing a message then).
	SessionTimeout time.Duration

	// AuthFailureDelay is how long the server waits before it answers a
	// failed AUTH exchange (wrong credentials or a malformed response), so
	// that guessing passwords is slow; 0 means DefaultAuthFailureDelay and
	// a negative value means no delay (for tests that fail AUTH on purpose).
	AuthFailureDelay time.Duration

	// MaxAuthFailures is how many failed AUTH exchanges one connection may
	// make; the last is answered 421 4.7.0 and the connection is closed. 0
	// means DefaultMaxAuthFailures.
	MaxAuthFailures int

	// ClientCAs, when set, makes the server request a client certificate
	// and verify any certificate offered against these roots. The subject
	// of a verified client certificate is recorded with each message.
	ClientCAs *x509.CertPool

	// RequireClientCert makes a client certificate mandatory (needs
	// ClientCAs): a handshake without one fails.
	RequireClientCert bool

	// ReadTimeout bounds each whole command line, from when the server
	// starts waiting for it to its end (not each read: a client dripping
	// one byte at a time gains nothing), and likewise each SASL response
	// line, the TLS handshake, and a BDAT chunk with its command. DATA is
	// read under the deadline of its command line, so the whole message
	// must arrive within ReadTimeout of the server starting to wait for
	// "DATA". WriteTimeout bounds each reply. 0 means DefaultReadTimeout and
	// DefaultWriteTimeout. SessionTimeout bounds them all.
	ReadTimeout, WriteTimeout time.Duration

	// Log, if set, receives one line per server event: connections,
	// handshakes, authentications (user name only), stored messages,
	// refusals. Writes are serialised.
	Log io.Writer

	// Debug, if set, receives the SMTP dialogue of every session, line by
	// line, prefixed with the session number and C:/S:. AUTH exchanges are
	// redacted; message bodies are included. Writes are serialised.
	Debug io.Writer

	// RejectMail, if set, is asked about every MAIL FROM (after AUTH checks);
	// a non-nil Reply is sent instead of 250 (e.g. 451 for retry tests). It
	// is called concurrently from several sessions.
	RejectMail func(from string) *Reply

	// RejectRecipient, if set, is asked about every RCPT TO; a non-nil Reply
	// refuses that recipient only (e.g. 550 5.1.1), others still pass. It is
	// called concurrently from several sessions.
	RejectRecipient func(to string) *Reply

	// RejectData, if set, is asked after the whole message has been received
	// and before it is stored; a non-nil Reply is sent instead of the 250 and
	// nothing is stored. It is called concurrently from several sessions.
	RejectData func(env Envelope) *Reply
}

// Reply is an SMTP reply a hook sends instead of accepting: a basic code
// (RFC 5321 section 4.2), an enhanced status code (RFC 3463; zero means
// "derive X.0.0 from the code") and the text.
type Reply struct {
	Code     int
	Enhanced [3]int
	Text     string
}

// String formats r as it appears on the wire (one line).
func (r *Reply) String() string {
	if r.Enhanced == [3]int{} {
		return fmt.Sprintf("%d %s", r.Code, r.Text)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Text)
}

// withDefaults returns a copy of c with zero fields filled in.
func (c Config) withDefaults() Config {
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxSessionsPerAddr <= 0 {
		c.MaxSessionsPerAddr = (c.MaxSessions + 1) / 2
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.AuthFailureDelay == 0 {
		c.AuthFailureDelay = DefaultAuthFailureDelay
	}
	if c.MaxAuthFailures <= 0 {
		c.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MinTLSVersion == 0 {
		c.MinTLSVersion = tls.VersionTLS12
		if c.MaxTLSVersion != 0 && c.MaxTLSVersion < c.MinTLSVersion {
			c.MinTLSVersion = c.MaxTLSVersion // an explicit old maximum wins
		}
	}
	return c
}

// check reports the first thing in c that cannot work.
func (c Config) check() error {
	switch {
	case c.SMTPAddr == "" && c.SMTPSAddr == "":
		return &Error{Op: "config", Err: errNoListener,
			Fix: `set Config.SMTPAddr (e.g. "127.0.0.1:0") and/or Config.SMTPSAddr`}
	case c.RequireClientCert && c.ClientCAs == nil:
		return &Error{Op: "config", Err: errRequireNoCAs,
			Fix: "set Config.ClientCAs to the roots that issue client certificates, or clear RequireClientCert"}
	case c.Certificate != nil && (len(c.Certificate.Certificate) == 0 || c.Certificate.PrivateKey == nil):
		return &Error{Op: "config", Err: errBadCertificate,
			Fix: "load the certificate with tls.LoadX509KeyPair or tls.X509KeyPair, or leave Config.Certificate nil for a throwaway PKI"}
	case c.MaxTLSVersion != 0 && c.MinTLSVersion != 0 && c.MaxTLSVersion < c.MinTLSVersion:
		return &Error{Op: "config", Err: errTLSVersions,
			Fix: "make MaxTLSVersion at least MinTLSVersion, or leave one of them zero"}
	}
	for u := range c.Users {
		if u == "" {
			return &Error{Op: "config", Err: errEmptyUser, Fix: "remove the empty user name from Config.Users"}
		}
	}
	for u, tok := range c.Tokens {
		if u == "" || tok == "" {
			return &Error{Op: "config", Err: errEmptyUser, Fix: "remove the empty user name or token from Config.Tokens"}
		}
	}
	return nil
}
