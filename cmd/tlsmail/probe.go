package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// probeOptions are the flags of `tlsmail probe`.
type probeOptions struct {
	tlsMode    string
	ca         string
	name       string
	pins       []string
	revocation string
	provider   string
	ehlo       string
	transcript string
	timeout    time.Duration
	versions   bool
	json       bool
}

const probeLong = `Connect to an SMTP server, look at its TLS and its certificate, and explain
what is wrong, without sending any mail (the session ends with QUIT).

probe shows the server's greeting, its EHLO capabilities (before and after
STARTTLS), whether STARTTLS is offered, the TLS version, cipher suite and
key-exchange group, the chain exactly as the server sent it (subject,
issuer, names, validity and days left, key, signature algorithm, SHA-256
fingerprint, SPKI pin), the OCSP staple, and the trust report: every
problem found in the chain, in which certificate, and what to do about it.
The handshake completes even when the chain is bad, so that the whole
chain can be shown; nothing is sent over it.

  HOST[:PORT]     the port defaults to 587 (465 with --tls implicit)
  --tls MODE      implicit or starttls; default from the port: 465 means
                  implicit, anything else starttls
  --name NAME     the DNS name or IP address the certificate must be valid
                  for (default HOST); also sent in SNI when it is a name
  --ca FILE       trust only these roots (default: the system's)
  --versions      also try TLS 1.0, 1.1, 1.2 and 1.3 one at a time (one
                  connection each) and say which the server accepts

In STARTTLS mode probe makes one plaintext session first (greeting, EHLO,
QUIT) to see what the server offers before TLS, then the TLS session.

--json prints one JSON object on standard output: the fields of
'tlsmail cert verify --json' ("ok", "problems", "certificates", ...) plus
  "server": "HOST:PORT", "mode": "starttls",
  "smtp": {"banner": "220 ...", "ehlo": ["PIPELINING", "STARTTLS", ...] (before
           STARTTLS; null in implicit mode), "starttls": true|false,
           "ehlo_tls": [...] (after TLS)},
  "tls": {"version": "TLS 1.3", "cipher": "...", "group": "X25519",
          "provider": "go", "server_name": "...", "ocsp_staple": "none"|"good"|
          "revoked"|"unknown"|"not checked"} or null,
  "versions": [{"version": "TLS 1.0", "result": "accepted"|"refused"|"error",
                "cipher": "...", "detail": "..."}] (with --versions),
  "error": {"kind", "message", "fix", "exit_code"} (when the session failed)

Exit codes: 0 no error-level problem in the chain (warnings allowed); 1 the
chain has problems; and, as for send, 64 usage, 66 the --ca file is missing
or unreadable, 68 host not found, 69 service refused, 75 network, timeout,
TLS handshake failure or STARTTLS not offered, 76 protocol error.`

const probeExample = `  tlsmail probe smtp.example.com                 # STARTTLS on port 587
  tlsmail probe smtp.example.com:465 --versions  # implicit TLS, and which TLS versions work
  tlsmail probe 10.0.0.5:25 --name mail.example.com --ca internal-ca.pem --json`

func newProbeCommand(e *env, st *runState) *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:     "probe [flags] HOST[:PORT]",
		Short:   "Show a server's SMTP capabilities, TLS session and certificate chain, and explain its problems",
		Long:    probeLong,
		Example: probeExample,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = o.json
			return runProbe(cmd.Context(), e, o, args[0])
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.tlsMode, "tls", "", "TLS `MODE`: implicit or starttls (default: implicit for port 465, else starttls)")
	fs.StringVar(&o.name, "name", "", "verify the certificate for `NAME`, a DNS name or an IP address (default: HOST)")
	registerTrustFlags(fs, &o.ca, &o.pins, &o.revocation, string(trust.RevocationSoft))
	fs.BoolVar(&o.versions, "versions", false, "also try each TLS version from 1.0 to 1.3 and say which the server accepts")
	fs.BoolVar(&o.json, "json", false, "print one JSON object with the result on standard output")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit for each step (connect, handshake, each reply)")
	fs.StringVar(&o.transcript, "transcript", "", "write the session log to `FILE` (- for standard error)")
	fs.StringVar(&o.provider, "tls-provider", defaultProvider, "TLS implementation: "+strings.Join(e.providers.Names(), ", "))
	fs.StringVar(&o.ehlo, "ehlo", "", "`NAME` to send with EHLO (default localhost)")
	return cmd
}

// probeReport is what probe prints: the report of 'cert verify' on the
// chain the server sent, and what was learnt of the SMTP and TLS sessions.
type probeReport struct {
	certinfo.Result
	Server   string         `json:"server"`
	Mode     string         `json:"mode"`
	SMTP     *probeSMTP     `json:"smtp"`
	TLS      *probeTLS      `json:"tls"`
	Versions []probeVersion `json:"versions,omitempty"`
	Error    *jsonError     `json:"error,omitempty"`
}

type probeSMTP struct {
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

type probeTLS struct {
	Version    string `json:"version"`
	Cipher     string `json:"cipher"`
	Group      string `json:"group"`
	Provider   string `json:"provider"`
	ServerName string `json:"server_name"`
	// OCSPStaple is "none", or the status of the stapled response:
	// "good", "revoked", "unknown", or "not checked" (--revocation off).
	OCSPStaple string `json:"ocsp_staple"`
	// OCSPDetail says why a staple was not usable, when it was not.
	OCSPDetail string `json:"ocsp_detail,omitempty"`
}

// probeVersion is the outcome of one --versions attempt.
type probeVersion struct {
	Version string `json:"version"`
	// Result is "accepted", "refused" (the server declined the handshake
	// at this version) or "error" (the attempt failed for another reason:
	// network, timeout, SMTP).
	Result string `json:"result"`
	Cipher string `json:"cipher,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// probePlan is probe with its flags checked: what to dial and how.
type probePlan struct {
	addr    string
	mode    smtp.TLSMode
	name    string
	opts    trust.Options
	prov    secchan.Provider
	timeout time.Duration
	ehlo    string
	log     *transcript.Log
}

// config is the smtp.Config of one probe session. Insecure makes the
// handshake complete whatever the chain, so that the report is gathered in
// full; probe never sends a message over it. Pins are left out: Insecure
// does not override a pin mismatch (secchan.Config.Verdict), so probe
// checks them after the handshake.
func (p *probePlan) config(mode smtp.TLSMode, minV, maxV uint16, opts trust.Options) *smtp.Config {
	opts.Pins = nil
	return &smtp.Config{
		Mode:     mode,
		Provider: p.prov,
		TLS: &secchan.Config{
			ServerName: p.name,
			Trust:      opts,
			Insecure:   true,
			MinVersion: minV,
			MaxVersion: maxV,
			Logf:       p.logf,
		},
		LocalName:   p.ehlo,
		Timeout:     p.timeout,
		Transcript:  p.log,
		DialContext: dialSpecialNames,
	}
}

// logf records a provider event in the transcript. The provider says a
// bad chain was accepted "(verification is off)"; probe never turns it off and sends
// nothing, so the transcript says why instead.
func (p *probePlan) logf(format string, args ...any) {
	msg := strings.Replace(fmt.Sprintf(format, args...), "ignored (verification is off)",
		"noted (probe completes the handshake to show the whole chain, and sends nothing)", 1)
	p.log.Event("%s", msg)
}

func runProbe(ctx context.Context, e *env, o *probeOptions, target string) error {
	p, closeFn, err := planProbe(e, o, target)
	if closeFn != nil {
		defer closeFn()
	}
	if err != nil {
		if o.json {
			writeJSON(e.stdout, emptyProbeReport(target, string(smtp.TLSMode(strings.ToLower(o.tlsMode))), err))
			return &reported{err}
		}
		return err
	}
	out, err := probe(ctx, p, o.versions)
	out.Result.Problems = hintProblems("probe", out.Result.Problems)
	if o.json {
		if err != nil {
			out.Error = errorJSON(hintFailure("probe", classify(err)))
		}
		writeJSON(e.stdout, out)
		switch {
		case err != nil:
			return &reported{err}
		case !out.OK:
			return problemsFound(out.Result)
		}
		return nil
	}
	if werr := out.writeText(e.stdout); werr != nil && err == nil {
		err = werr
	}
	if err == nil && !out.OK {
		return problemsFound(out.Result)
	}
	return err
}

// emptyProbeReport is the JSON object for a probe that could not start.
func emptyProbeReport(server, mode string, err error) *probeReport {
	r := &probeReport{
		Result: certinfo.Result{Time: time.Now().UTC(), Problems: []trust.Problem{}, Certificates: []certinfo.Certificate{}, Path: []int{}},
		Server: server, Mode: mode,
	}
	if err != nil {
		r.Error = errorJSON(hintFailure("probe", classify(err)))
	}
	return r
}

// planProbe checks the flags without any network traffic. closeFn closes
// the transcript file, if one was opened.
func planProbe(e *env, o *probeOptions, target string) (p *probePlan, closeFn func(), err error) {
	mode := smtp.TLSMode(strings.ToLower(o.tlsMode))
	switch mode {
	case "", smtp.Implicit, smtp.StartTLS:
	case smtp.None:
		return nil, nil, usageErrorf("probe looks at TLS: --tls none has nothing to show").
			withFix("use --tls starttls or --tls implicit (or leave --tls out)")
	default:
		return nil, nil, usageErrorf("unknown --tls mode %q", o.tlsMode).withFix("use --tls implicit or --tls starttls")
	}
	host, port, err := probeTarget(target, mode)
	if err != nil {
		return nil, nil, err
	}
	if mode == "" {
		mode = smtp.DefaultMode(port)
	}
	if o.timeout <= 0 {
		return nil, nil, usageErrorf("--timeout must be positive, not %v", o.timeout).withFix("e.g. --timeout 30s")
	}
	if o.ehlo != "" && strings.ContainsAny(o.ehlo, " \t\r\n") {
		return nil, nil, usageErrorf("--ehlo %q is not a host name", o.ehlo).withFix("give a host name or an address literal like [192.0.2.1]")
	}
	prov, err := e.providers.Lookup(o.provider)
	if err != nil {
		return nil, nil, usageErrorf("unknown --tls-provider %q", o.provider).
			withFix("this build offers: " + strings.Join(e.providers.Names(), ", "))
	}
	name := o.name
	if name == "" {
		name = host
	}
	q := certinfo.VerifyRequest{CAFile: o.ca, Name: name, Pins: o.pins, Revocation: o.revocation, Checker: &trust.Checker{}}
	opts, err := q.Options()
	if err != nil {
		return nil, nil, certError(err, "tlsmail probe")
	}
	p = &probePlan{addr: net.JoinHostPort(host, port), mode: mode, name: opts.Name, opts: opts,
		prov: prov, timeout: o.timeout, ehlo: o.ehlo}
	tw, closeFn, err := openTranscript(e, o.transcript)
	if err != nil {
		return nil, nil, err
	}
	if tw != nil {
		p.log = transcript.New(tw)
	}
	return p, closeFn, nil
}

// probeTarget parses probe's argument as parseHostPort does.
func probeTarget(s string, mode smtp.TLSMode) (host, port string, err error) {
	return parseHostPort(s, mode, func(why string) error {
		return usageErrorf("%q is not HOST[:PORT]: %s", s, why).
			withFix("give the server as HOST or HOST:PORT, e.g. smtp.example.com:587 or [2001:db8::1]:465")
	})
}

// probe runs the sessions: in STARTTLS mode a plaintext one first (to see
// the capabilities before TLS), then the TLS one, then one per version
// with --versions. The report holds whatever was learnt, even on error.
func probe(ctx context.Context, p *probePlan, versions bool) (*probeReport, error) {
	out := emptyProbeReport(p.addr, string(p.mode), nil)
	out.Name = p.name
	out.SMTP = &probeSMTP{}

	if p.mode == smtp.StartTLS {
		c, err := smtp.Dial(ctx, p.addr, p.config(smtp.None, 0, 0, p.opts))
		if err != nil {
			return out, p.hint(err)
		}
		out.SMTP.Banner = c.Greeting().String()
		out.SMTP.EHLO = extensionList(c.Extensions())
		out.SMTP.StartTLS, _ = c.Extension("STARTTLS")
		c.Quit(ctx)
		if !out.SMTP.StartTLS {
			return out, &smtp.Error{Kind: smtp.KindStartTLSUnavailable, Op: "EHLO",
				Err: fmt.Errorf("%s does not offer STARTTLS: mail to it travels in the clear", p.addr),
				Fix: "enable STARTTLS on the server (RFC 3207), or probe its implicit-TLS port with --tls implicit (usually 465)"}
		}
	}

	c, err := smtp.Dial(ctx, p.addr, p.config(p.mode, 0, 0, p.opts))
	var te *trust.Error
	if errors.As(err, &te) {
		// A chain the handshake could not get past even with verification
		// overridden (a certificate crypto/x509 cannot parse): the answer
		// to "is it trusted" is no, with the problems found; the TLS
		// session, which never was, stays null.
		out.Result = certinfo.FromReport(te.Report, p.opts)
		if out.Path == nil {
			out.Path = []int{}
		}
		if versions {
			out.Versions = probeVersions(ctx, p)
		}
		return out, nil
	}
	if err != nil {
		err = p.hint(err)
		if versions {
			out.Versions = probeVersions(ctx, p)
		}
		return out, err
	}
	if p.mode == smtp.Implicit {
		out.SMTP.Banner = c.Greeting().String()
	}
	out.SMTP.EHLOTLS = extensionList(c.Extensions())
	st, _ := c.TLS()
	c.Quit(ctx) // the probe is over; a failing QUIT changes nothing
	if len(p.opts.Pins) > 0 {
		opts := p.opts
		if opts.StapledOCSP == nil {
			opts.StapledOCSP = st.OCSPResponse
		}
		st.Report = trust.VerifyContext(ctx, st.PeerCertificates, opts)
		st.Verified = st.Report.OK()
	}

	out.Result = certinfo.FromReport(st.Report, p.opts)
	if out.Path == nil {
		out.Path = []int{}
	}
	out.TLS = &probeTLS{
		Version:    secchan.VersionName(st.Version),
		Cipher:     st.CipherName,
		Group:      st.Group,
		Provider:   st.Provider,
		ServerName: p.name,
	}
	out.TLS.OCSPStaple, out.TLS.OCSPDetail = stapleStatus(st, p.opts)
	if versions {
		out.Versions = probeVersions(ctx, p)
	}
	return out, nil
}

// hint adjusts the fix of a connection failure to probe's command line:
// the host is an argument, not --server. (A STARTTLS greeting that never
// comes, an implicit-TLS port, gets --tls implicit from the flag-hint
// table.)
func (p *probePlan) hint(err error) error {
	var se *smtp.Error
	if errors.As(err, &se) && se.HostNotFound() {
		host, _, _ := net.SplitHostPort(p.addr)
		se.Fix = fmt.Sprintf("the name %q does not resolve; check the host given to probe", host)
	}
	return err
}

// stapleStatus says what the stapled OCSP response (RFC 6961, RFC 6066
// section 8) told about the leaf.
func stapleStatus(st secchan.State, opts trust.Options) (status, detail string) {
	if len(st.OCSPResponse) == 0 {
		return "none", ""
	}
	if opts.Revocation == trust.RevocationOff {
		return "not checked", "--revocation off"
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

// probeVersions tries each TLS version alone, one connection each.
// Revocation is not checked again: only the handshake matters here.
func probeVersions(ctx context.Context, p *probePlan) []probeVersion {
	opts := p.opts
	opts.Revocation = trust.RevocationOff
	var out []probeVersion
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		pv := probeVersion{Version: secchan.VersionName(v)}
		c, err := smtp.Dial(ctx, p.addr, p.config(p.mode, v, v, opts))
		var se *smtp.Error
		var te *trust.Error
		switch {
		case errors.As(err, &te):
			// The server took the version and sent a chain the
			// handshake could not get past (see probe).
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

// writeText prints the probe for people: the verdict, the SMTP and TLS
// sessions, the versions, then the chain, the problems and the details as
// 'cert verify' prints them.
func (r *probeReport) writeText(w io.Writer) error {
	verdict := fmt.Sprintf("FAIL: no TLS session with %s", safetext.Quote(r.Server))
	var rest []byte
	if r.TLS != nil || len(r.Problems) > 0 {
		var b bytes.Buffer
		if err := r.Result.WriteText(&b); err != nil {
			return err
		}
		first, after, _ := bytes.Cut(b.Bytes(), []byte("\n"))
		verdict, rest = string(first), after
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, verdict)
	fmt.Fprintln(&b)
	// Banner, EHLO lines and handshake errors are the server's text.
	row := func(label, value string) { fmt.Fprintf(&b, "  %-12s %s\n", label, safetext.Quote(value)) }
	fmt.Fprintln(&b, "SMTP:")
	row("server", fmt.Sprintf("%s (%s)", r.Server, modeName(smtp.TLSMode(r.Mode))))
	if s := r.SMTP; s != nil {
		if s.Banner != "" {
			row("banner", s.Banner)
		}
		if r.Mode == string(smtp.StartTLS) && s.Banner != "" {
			row("ehlo", orNone(s.EHLO))
			offered := "offered"
			if !s.StartTLS {
				offered = "NOT offered: mail to this server travels in the clear"
			}
			row("starttls", offered)
		}
		if r.TLS != nil {
			row("ehlo (tls)", orNone(s.EHLOTLS))
		}
	}
	if t := r.TLS; t != nil {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "TLS:")
		row("version", t.Version)
		row("cipher", t.Cipher)
		if t.Group != "" {
			row("group", t.Group)
		}
		row("provider", t.Provider)
		row("name", t.ServerName)
		staple := t.OCSPStaple
		if t.OCSPDetail != "" {
			staple += " (" + t.OCSPDetail + ")"
		}
		row("ocsp staple", staple)
	}
	if len(r.Versions) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "TLS versions:")
		for _, v := range r.Versions {
			s := v.Result
			if v.Cipher != "" {
				s += ", " + v.Cipher
			}
			if v.Detail != "" {
				s += ": " + v.Detail
			}
			row(v.Version, s)
		}
	}
	b.Write(rest)
	_, err := w.Write(b.Bytes())
	return err
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}
