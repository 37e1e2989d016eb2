// Package secchan is the seam between the SMTP client and a TLS
// implementation: one Provider interface, several implementations.
//
// A Provider runs the client side of a TLS handshake over an existing
// net.Conn (a fresh TCP connection for implicit TLS, or one on which SMTP
// STARTTLS has just been accepted) and returns a Conn. The provider never
// decides trust on its own: it hands the peer's chain to package trust, keeps
// the resulting Report in the connection State, and fails the handshake when
// the report has an error-level problem (unless Config.Insecure is set).
package secchan

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/tlsmail/tlsmail/trust"
)

// Provider runs a TLS client handshake over conn.
type Provider interface {
	// Name is the provider's identifier, as used by --tls-provider.
	Name() string
	// Client runs the handshake over conn, honouring ctx's deadline and
	// cancellation, and returns the secured connection. On failure conn is
	// closed and the error is a *HandshakeError or a *trust.Error.
	Client(ctx context.Context, conn net.Conn, cfg *Config) (Conn, error)
}

// Conn is a secured connection.
type Conn interface {
	net.Conn
	// State describes the negotiated session and the trust verdict.
	State() State
}

// Config holds the client-side TLS settings shared by every provider.
type Config struct {
	// ServerName is sent as SNI (when it is a DNS name) and verified against
	// the certificate: a DNS name is matched against the DNS SANs, an IP
	// address against the IP SANs.
	ServerName string

	// Trust configures chain verification: roots (nil for the system's),
	// SPKI pins, revocation checking and the reference time. Trust.Name is
	// filled from ServerName when empty. A nil Trust.Checker means
	// trust.DefaultChecker(), shared by the whole process (see
	// trust.Checker for what it fetches and where it caches).
	Trust trust.Options

	// Insecure accepts a chain with error-level problems. The handshake still
	// verifies, and the report is still recorded in State; only the verdict
	// is ignored, except a pin mismatch (see Verdict).
	Insecure bool

	// Certificates are client certificates offered when the server asks.
	Certificates []tls.Certificate

	// MinVersion and MaxVersion bound the protocol version (tls.VersionTLS12
	// and so on); zero means the provider's default (TLS 1.2 minimum).
	MinVersion, MaxVersion uint16

	// NextProtos is the ALPN list, if any.
	NextProtos []string

	// SessionCache enables TLS session resumption across connections made
	// with the same cache. Nil disables resumption.
	SessionCache tls.ClientSessionCache

	// Logf, if set, receives provider events (for the transcript): retries,
	// fallbacks, anything the user should see when a handshake goes wrong.
	Logf func(format string, args ...any)
}

// Clone returns a shallow copy of c, safe to modify.
func (c *Config) Clone() *Config {
	if c == nil {
		return &Config{}
	}
	n := *c
	return &n
}

// Log reports a provider event through c.Logf when it is set.
func (c *Config) Log(format string, args ...any) {
	if c != nil && c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Verdict is the handshake's outcome for report r, the same for every
// provider: r.Err() normally; with Insecure nil, except for a pin that does
// not match. Pins are given on purpose, and when the chain is not trusted a
// pin is the only thing that tells the server from an interceptor (RFC 7469
// section 2.6), so --insecure never overrides one.
func (c *Config) Verdict(r trust.Report) error {
	if c != nil && c.Insecure && !r.Has(trust.KindPinMismatch) {
		return nil
	}
	return r.Err()
}

// ErrNoServerName is returned by a provider's Client when the Config names
// no server (ServerName and Trust.Name empty) and Insecure is not set: with
// no name to check, any certificate the chain's CA issued would be accepted,
// so the providers refuse, as crypto/tls does without ServerName.
var ErrNoServerName = errors.New("no server name to verify the certificate against: set the server's name (or accept an unverified connection explicitly)")

// CheckName returns ErrNoServerName when c names no server and does not ask
// for an insecure connection. Every provider calls it before the handshake.
func (c *Config) CheckName() error {
	if c == nil || (c.ServerName == "" && c.Trust.Name == "" && !c.Insecure) {
		return ErrNoServerName
	}
	return nil
}

// TrustOptions returns c.Trust with the name filled from ServerName.
func (c *Config) TrustOptions() trust.Options {
	o := c.Trust
	if o.Name == "" {
		o.Name = c.ServerName
	}
	return o
}

// State describes an established TLS session.
type State struct {
	Provider    string
	Version     uint16 // tls.VersionTLS12, tls.VersionTLS13, ...
	CipherSuite uint16 // IANA value; 0 when the provider cannot tell
	CipherName  string // e.g. "TLS_AES_128_GCM_SHA256"
	Group       string // key-exchange group, e.g. "X25519", when known
	ServerName  string
	// NegotiatedProtocol is the ALPN result, if any.
	NegotiatedProtocol string
	// PeerCertificates is the chain as the server sent it, leaf first.
	PeerCertificates []*x509.Certificate
	// OCSPResponse is the stapled OCSP response, if the server sent one.
	OCSPResponse []byte
	// Report is the trust verdict on PeerCertificates.
	Report trust.Report
	// Verified is true when Report has no error-level problem.
	Verified bool
	// Resumed is true when the session was resumed from a cache.
	Resumed bool
}

// VersionName returns "TLS 1.3" and the like.
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	case 0x0300:
		return "SSL 3.0"
	}
	return fmt.Sprintf("0x%04x", v)
}

// HandshakeError is a TLS handshake that failed for a reason other than the
// trust verdict (which is a *trust.Error): a protocol alert, no common
// version or cipher, a reset connection, a timeout.
type HandshakeError struct {
	Provider string
	// Code is a provider-specific status, such as a Windows SEC_E_* value;
	// zero when there is none.
	Code uint32
	// Reason says what happened in words.
	Reason string
	// Fix says what to try, when something can be said.
	Fix string
	Err error
}

func (e *HandshakeError) Error() string {
	msg := "TLS handshake failed"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Code != 0 {
		msg += fmt.Sprintf(" (0x%08X)", e.Code)
	}
	if e.Err != nil && e.Reason == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// ErrUnknownProvider is returned by Lookup for a name nobody registered.
var ErrUnknownProvider = errors.New("secchan: unknown TLS provider")

// Registry maps provider names to providers. The zero value is empty; a
// program builds one (see the cmd/tlsmail package) instead of relying on
// package-level state.
type Registry struct {
	mu sync.Mutex
	m  map[string]Provider
}

// Register adds p under p.Name().
func (r *Registry) Register(p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]Provider{}
	}
	r.m[p.Name()] = p
}

// Lookup returns the provider called name.
func (r *Registry) Lookup(name string) (Provider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.m[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q (available: %v)", ErrUnknownProvider, name, r.namesLocked())
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	var names []string
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
