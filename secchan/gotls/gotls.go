// Package gotls is the crypto/tls provider of package secchan, the default on
// every operating system.
//
// crypto/tls runs the handshake; package trust decides trust. The provider
// turns off crypto/tls's own verification (InsecureSkipVerify) and verifies
// in VerifyConnection instead, for full handshakes and resumed sessions alike,
// so that the report lists every problem rather than Go's first one and the
// verdict is the same for every provider.
//
// One refusal happens before VerifyConnection: crypto/tls parses the
// server's certificates first, and one that crypto/x509 cannot parse (a
// malformed SAN, say) ends the handshake whatever the configuration. The
// provider reports it as trust.KindUnparseable, a *trust.Error like any
// other refused chain, but without the certificate: crypto/tls keeps
// neither its DER nor its place in the chain.
package gotls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

// Provider implements secchan.Provider with crypto/tls.
type Provider struct{}

// Name returns "go".
func (Provider) Name() string { return "go" }

// Client runs the handshake over conn.
func (Provider) Client(ctx context.Context, conn net.Conn, cfg *secchan.Config) (secchan.Conn, error) {
	if cfg == nil {
		cfg = &secchan.Config{}
	}
	if err := cfg.CheckName(); err != nil {
		conn.Close()
		return nil, err
	}
	c := &Conn{}
	tcfg := &tls.Config{
		ServerName:         sniName(cfg.ServerName),
		InsecureSkipVerify: true, // package trust verifies, in VerifyConnection
		Certificates:       cfg.Certificates,
		MinVersion:         cfg.MinVersion,
		MaxVersion:         cfg.MaxVersion,
		NextProtos:         cfg.NextProtos,
		ClientSessionCache: cfg.SessionCache,
		VerifyConnection: func(cs tls.ConnectionState) error {
			opts := cfg.TrustOptions()
			if len(cs.OCSPResponse) > 0 && opts.StapledOCSP == nil {
				opts.StapledOCSP = cs.OCSPResponse
			}
			// The fetches get their share of the time left
			// (secchan.RevocationBudget), as with every provider.
			vctx, cancel := secchan.RevocationContext(ctx)
			c.report = trust.VerifyContext(vctx, cs.PeerCertificates, opts)
			cancel()
			err := cfg.Verdict(c.report)
			if err == nil && !c.report.OK() {
				cfg.Log("certificate problems ignored (verification is off): %s", (&trust.Error{Report: c.report}).Error())
			}
			return err
		},
	}
	if tcfg.MinVersion == 0 {
		tcfg.MinVersion = tls.VersionTLS12
	}
	if len(cfg.Certificates) > 0 {
		// Offer the certificate whatever CAs the server names: a server that
		// lists none still often wants one, and the user asked for it.
		cert := cfg.Certificates[0]
		tcfg.Certificates = nil
		tcfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if err := cri.SupportsCertificate(&cert); err != nil {
				cfg.Log("the server's certificate request may not accept the client certificate: %v", err)
			}
			return &cert, nil
		}
	}
	tc := tls.Client(conn, tcfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, classify(err, ctx)
	}
	c.Conn = tc
	return c, nil
}

// sniName returns the name to send in SNI: none for an IP address (RFC 6066
// section 3 forbids literal addresses), and no brackets or trailing dot.
func sniName(name string) string {
	name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
	if net.ParseIP(name) != nil {
		return ""
	}
	return name
}

// parseFailure is how crypto/tls says it could not parse a certificate the
// server sent (handshake_client.go); it has no typed error for it.
const parseFailure = "tls: failed to parse certificate from server: "

func classify(err error, ctx context.Context) error {
	var te *trust.Error
	if errors.As(err, &te) {
		return te
	}
	// crypto/tls parses the server's certificates before any hook sees
	// them (VerifyPeerCertificate and VerifyConnection get them parsed) and
	// ends the handshake when one fails: a certificate problem, named as
	// package trust names it, with the parser's complaint; which
	// certificate of the chain it was, crypto/tls does not say.
	if msg := err.Error(); strings.HasPrefix(msg, parseFailure) {
		p := trust.UnparseableProblem(-1, errors.New(strings.TrimPrefix(msg, parseFailure)))
		return &trust.Error{Report: trust.Report{Problems: []trust.Problem{p}}}
	}
	if he, ok := secchan.TransportError(ctx, "go", err); ok {
		return he
	}
	he := &secchan.HandshakeError{Provider: "go", Err: err}
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &rh):
		he.Reason = "the server did not answer with TLS (it may expect plain SMTP on this port)"
		he.Fix = "use STARTTLS for ports 25 and 587, implicit TLS for port 465"
	case errors.As(err, &alert):
		he.Reason = fmt.Sprintf("the server refused the handshake with TLS alert %q", alertText(err))
		he.Fix = alertFix(err)
	default:
		he.Reason = err.Error()
	}
	return he
}

func alertText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "alert: "); i >= 0 {
		return s[i+len("alert: "):]
	}
	return s
}

func alertFix(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "protocol version"):
		return "the server and tlsmail share no TLS version; tlsmail needs TLS 1.2 or later (check which versions the server accepts)"
	case strings.Contains(s, "handshake failure"), strings.Contains(s, "insufficient security"):
		return "the server and tlsmail share no cipher suite or group; the server's TLS configuration is too old"
	case strings.Contains(s, "certificate required"), strings.Contains(s, "bad certificate"), strings.Contains(s, "unknown certificate authority"):
		return "the server wants a client certificate it trusts: give one, with its private key"
	case strings.Contains(s, "unrecognized name"):
		return "the server has no certificate for this name: check the server name sent (SNI)"
	}
	return "see the session transcript for where the handshake stopped"
}

// Conn is a crypto/tls connection with its trust report.
type Conn struct {
	*tls.Conn
	report trust.Report
}

// State describes the session.
func (c *Conn) State() secchan.State {
	cs := c.Conn.ConnectionState()
	st := secchan.State{
		Provider:           "go",
		Version:            cs.Version,
		CipherSuite:        cs.CipherSuite,
		CipherName:         tls.CipherSuiteName(cs.CipherSuite),
		ServerName:         cs.ServerName,
		NegotiatedProtocol: cs.NegotiatedProtocol,
		PeerCertificates:   cs.PeerCertificates,
		OCSPResponse:       cs.OCSPResponse,
		Report:             c.report,
		Verified:           c.report.OK(),
		Resumed:            cs.DidResume,
	}
	if cs.CurveID != 0 {
		st.Group = cs.CurveID.String()
	}
	return st
}
