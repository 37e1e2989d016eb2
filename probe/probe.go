// Package probe looks at an SMTP server's TLS without sending any mail:
// its greeting and EHLO capabilities before and after STARTTLS (RFC 3207)
// or over implicit TLS (RFC 8314 section 3), the TLS session it agrees to,
// the certificate chain it sends with the trust report on it, its stapled
// OCSP response (RFC 6066 section 8), and, on request, which TLS versions
// it accepts. It is `tlsmail probe` for a Go program (a monitoring check,
// a setup wizard).
//
// The handshake is completed even when the chain fails verification, so
// that the whole chain is seen and reported; nothing is ever sent over
// such a session but EHLO and QUIT.
package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// Config is what to probe and how.
type Config struct {
	// Addr is the server, host:port.
	Addr string
	// Mode is smtp.StartTLS or smtp.Implicit ("" means StartTLS).
	Mode smtp.TLSMode
	// Trust is how the chain is verified; Trust.Name is the name it must
	// be valid for, also sent in SNI ("" means Addr's host).
	Trust trust.Options
	// Provider is the TLS implementation; nil means smtp's default.
	Provider secchan.Provider
	// LocalName is the EHLO argument; "" means smtp's default.
	LocalName string
	// Timeout bounds each step; 0 means smtp.DefaultTimeout.
	Timeout time.Duration
	// Transcript, if set, records every session.
	Transcript *transcript.Log
	// DialContext makes the TCP connections; nil means smtp.DialTCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Versions also tries TLS 1.0, 1.1, 1.2 and 1.3 one at a time, one
	// connection each, and reports which the server accepts.
	Versions bool
}

// Report is what a probe learnt, even when it ended in an error.
type Report struct {
	Server string
	Mode   smtp.TLSMode
	// ServerName is the name the chain was verified for.
	ServerName string
	SMTP       *SMTP
	// TLS is the TLS session; nil when none was made.
	TLS *TLS
	// State is the TLS session as the provider reported it, with the
	// trust report made after the handshake (pins included); nil when no
	// session was made.
	State *secchan.State
	// Trust is the verification of the chain the server sent: State's
	// report, or, when the handshake could not get past the chain even
	// with verification overridden (a certificate crypto/x509 cannot
	// parse), the report of that failure. Nil when no chain was seen.
	Trust    *trust.Report
	Versions []Version
}

// SMTP is what the server said in SMTP.
type SMTP struct {
	// Banner is the 220 greeting.
	Banner string `json:"banner"`
	// EHLO lists the capabilities announced before STARTTLS (nil in
	// implicit mode, where there is no plaintext EHLO).
	EHLO []string `json:"ehlo"`
	// StartTLS is true when STARTTLS was offered before TLS (RFC 3207).
	StartTLS bool `json:"starttls"`
	// EHLOTLS lists the capabilities announced over TLS.
	EHLOTLS []string `json:"ehlo_tls"`
}

// TLS is the TLS session the server agreed to.
type TLS struct {
	Version    string `json:"version"`
	Cipher     string `json:"cipher"`
	Group      string `json:"group"`
	Provider   string `json:"provider"`
	ServerName string `json:"server_name"`
	// OCSPStaple is "none", or the status of the stapled response:
	// "good", "revoked", "unknown", or "not checked" (revocation checking
	// off).
	OCSPStaple string `json:"ocsp_staple"`
	// OCSPDetail says why a staple was not usable, when it was not.
	OCSPDetail string `json:"ocsp_detail,omitempty"`
}

// Version is the outcome of one attempt at a single TLS version.
type Version struct {
	Version string `json:"version"`
	// Result is "accepted", "refused" (the server declined the handshake
	// at this version) or "error" (the attempt failed for another reason:
	// network, timeout, SMTP).
	Result string `json:"result"`
	Cipher string `json:"cipher,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Run probes the server: in STARTTLS mode a plaintext session first (to
// see the capabilities before TLS), then the TLS session, then one per
// version with Config.Versions. The Report holds whatever was learnt, even
// when err is not nil (an *smtp.Error: the server could not be reached, or
// offers no STARTTLS). A chain that fails verification is no error: its
// problems are in Report.Trust.
func Run(ctx context.Context, cfg *Config) (*Report, error) {
	p := *cfg
	if p.Mode == "" {
		p.Mode = smtp.StartTLS
	}
	if p.Trust.Name == "" {
		p.Trust.Name, _, _ = net.SplitHostPort(p.Addr)
	}
	out := &Report{Server: p.Addr, Mode: p.Mode, ServerName: p.Trust.Name, SMTP: &SMTP{}}

	if p.Mode == smtp.StartTLS {
		c, err := smtp.Dial(ctx, p.Addr, p.smtpConfig(smtp.None, 0, 0, p.Trust))
		if err != nil {
			return out, err
		}
		out.SMTP.Banner = c.Greeting().String()
		out.SMTP.EHLO = extensionList(c.Extensions())
		out.SMTP.StartTLS, _ = c.Extension("STARTTLS")
		c.Quit(ctx)
		if !out.SMTP.StartTLS {
			return out, &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "EHLO",
				Err: fmt.Errorf("%s does not offer STARTTLS: mail to it travels in the clear", p.Addr),
				Fix: "enable STARTTLS on the server (RFC 3207), or probe its implicit-TLS port (usually 465)"}
		}
	}

	c, err := smtp.Dial(ctx, p.Addr, p.smtpConfig(p.Mode, 0, 0, p.Trust))
	var te *trust.Error
	if errors.As(err, &te) {
		// A chain the handshake could not get past even with verification
		// overridden: the answer to "is it trusted" is no, with the
		// problems found; the TLS session, which never was, stays nil.
		out.Trust = &te.Report
		if p.Versions {
			out.Versions = p.versions(ctx)
		}
		return out, nil
	}
	if err != nil {
		if p.Versions {
			out.Versions = p.versions(ctx)
		}
		return out, err
	}
	if p.Mode == smtp.Implicit {
		out.SMTP.Banner = c.Greeting().String()
	}
	out.SMTP.EHLOTLS = extensionList(c.Extensions())
	st, _ := c.TLS()
	c.Quit(ctx) // the probe is over; a failing QUIT changes nothing
	if len(p.Trust.Pins) > 0 {
		opts := p.Trust
		if opts.StapledOCSP == nil {
			opts.StapledOCSP = st.OCSPResponse
		}
		st.Report = trust.VerifyContext(ctx, st.PeerCertificates, opts)
		st.Verified = st.Report.OK()
	}
	out.State, out.Trust = &st, &st.Report
	out.TLS = &TLS{
		Version:    secchan.VersionName(st.Version),
		Cipher:     st.CipherName,
		Group:      st.Group,
		Provider:   st.Provider,
		ServerName: p.Trust.Name,
	}
	out.TLS.OCSPStaple, out.TLS.OCSPDetail = stapleStatus(st, p.Trust)
	if p.Versions {
		out.Versions = p.versions(ctx)
	}
	return out, nil
}

// smtpConfig is the smtp.Config of one probe session. Insecure makes the
// handshake complete whatever the chain, so that the report is gathered
// in full; a probe never sends a message over it. Pins are left out:
// Insecure does not override a pin mismatch (secchan.Config.Verdict), so
// Run checks them after the handshake.
func (p *Config) smtpConfig(mode smtp.TLSMode, minV, maxV uint16, opts trust.Options) *smtp.Config {
	opts.Pins = nil
	return &smtp.Config{
		Mode:     mode,
		Provider: p.Provider,
		TLS: &secchan.Config{
			ServerName: p.Trust.Name,
			Trust:      opts,
			Insecure:   true,
			MinVersion: minV,
			MaxVersion: maxV,
			Logf:       p.logf,
		},
		LocalName:   p.LocalName,
		Timeout:     p.Timeout,
		Transcript:  p.Transcript,
		DialContext: p.DialContext,
	}
}

// logf records a provider event in the transcript. The provider says a
// bad chain was accepted "(verification is off)"; a probe never turns it
// off and sends nothing, so the transcript says why instead.
func (p *Config) logf(format string, args ...any) {
	msg := strings.Replace(fmt.Sprintf(format, args...), "ignored (verification is off)",
		"noted (probe completes the handshake to show the whole chain, and sends nothing)", 1)
	p.Transcript.Event("%s", msg)
}

// stapleStatus says what the stapled OCSP response (RFC 6961, RFC 6066
// section 8) told about the leaf.
func stapleStatus(st secchan.State, opts trust.Options) (status, detail string) {
	if len(st.OCSPResponse) == 0 {
		return "none", ""
	}
	if opts.Revocation == trust.RevocationOff {
		return "not checked", "revocation checking is off"
	}
	for _, r := range st.Report.Revocation {
		if r.Cert == 0 && strings.Contains(strings.ToLower(r.Source), "stapled") {
			return string(r.Status), r.Detail
		}
	}
	for _, r := range st.Report.Revocation {
		if r.Cert == 0 {
			// The staple was sent but the status came from elsewhere (or
			// from nowhere): say why the staple did not answer.
			return "unknown", "the staple could not be used: " + r.Detail
		}
	}
	return "unknown", "the staple was not checked"
}

// versions tries each TLS version alone, one connection each.
// Revocation is not checked again: only the handshake matters here.
func (p *Config) versions(ctx context.Context) []Version {
	opts := p.Trust
	opts.Revocation = trust.RevocationOff
	var out []Version
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		pv := Version{Version: secchan.VersionName(v)}
		c, err := smtp.Dial(ctx, p.Addr, p.smtpConfig(p.Mode, v, v, opts))
		var se *smtp.Error
		var te *trust.Error
		switch {
		case errors.As(err, &te):
			// The server took the version and sent a chain the
			// handshake could not get past (see Run).
			pv.Result = "accepted"
			pv.Detail = "the handshake stopped at the server's certificate: " + te.Error()
		case err == nil:
			st, _ := c.TLS()
			c.Quit(ctx)
			pv.Result, pv.Cipher = "accepted", st.CipherName
			if st.Version != v {
				// A provider that does not honour the bounds: say so
				// rather than claim the version was tested.
				pv.Result = "error"
				pv.Detail = fmt.Sprintf("asked for %s only, but the %s provider negotiated %s", pv.Version, st.Provider, secchan.VersionName(st.Version))
			}
		case errors.As(err, &se) && se.Kind == smtp.KindTLSHandshake:
			pv.Result = "refused"
			var he *secchan.HandshakeError
			if errors.As(err, &he) && he.Reason != "" {
				pv.Detail = he.Reason
			} else {
				pv.Detail = err.Error()
			}
			if v < tls.VersionTLS12 && !strings.Contains(pv.Detail, "protocol version") {
				pv.Detail += " (at this version tlsmail offers only ECDHE cipher suites with AES-CBC: a server limited to RSA key exchange or 3DES refuses it too)"
			}
		default:
			pv.Result = "error"
			pv.Detail = err.Error()
		}
		out = append(out, pv)
	}
	return out
}

// extensionList renders EHLO keywords and parameters, sorted.
func extensionList(ext map[string]string) []string {
	out := []string{}
	for k, v := range ext {
		if v != "" {
			k += " " + v
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
