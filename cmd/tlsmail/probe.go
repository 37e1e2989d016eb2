package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/probe"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// probeOptions are the flags of `tlsmail probe`.
type probeOptions struct {
	certFlags  // --name, --ca, --pin, --revocation (no --at)
	tlsMode    string
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

HOST[:PORT] is the server; the port defaults to 587 (465 with --tls
implicit). --name is also sent in SNI when it is a DNS name.

@flags tls name ca versions

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
	cmd.Long = helpFlags(probeLong, fs)
	return cmd
}

// probeReport is what probe prints: the report of 'cert verify' on the
// chain the server sent, and what was learnt of the SMTP and TLS sessions
// (package probe's Report).
type probeReport struct {
	certinfo.Result
	Server   string          `json:"server"`
	Mode     string          `json:"mode"`
	SMTP     *probe.SMTP     `json:"smtp"`
	TLS      *probe.TLS      `json:"tls"`
	Versions []probe.Version `json:"versions,omitempty"`
	Error    *jsonError      `json:"error,omitempty"`
	// report is what the probe learnt (writeText prints its sessions).
	report *probe.Report
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
	p.Versions = o.versions
	out, err := runPlanned(ctx, p)
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
func planProbe(e *env, o *probeOptions, target string) (p *probe.Config, closeFn func(), err error) {
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
	if err := checkTimeout(o.timeout); err != nil {
		return nil, nil, err
	}
	if err := smtp.CheckLocalName(o.ehlo); err != nil {
		return nil, nil, err // the flag-hint table names --ehlo
	}
	prov, err := e.provider(o.provider)
	if err != nil {
		return nil, nil, err
	}
	cf := o.certFlags
	if cf.name == "" {
		cf.name = host
	}
	opts, err := cf.options(e.revocationChecker())
	if err != nil {
		return nil, nil, certError(err, "tlsmail probe")
	}
	p = &probe.Config{Addr: net.JoinHostPort(host, port), Mode: mode, Trust: opts,
		Provider: prov, Timeout: o.timeout, LocalName: o.ehlo}
	tw, closeFn, err := openTranscript(e, o.transcript)
	if err != nil {
		return nil, nil, err
	}
	if tw != nil {
		p.Transcript = transcript.New(tw)
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

// runPlanned runs the probe (package probe) and turns its report into
// probe's output: the chain's report as 'cert verify' makes it.
func runPlanned(ctx context.Context, p *probe.Config) (*probeReport, error) {
	r, err := probe.Run(ctx, p)
	out := emptyProbeReport(p.Addr, string(r.Mode), nil)
	out.Name = r.ServerName
	out.report = r
	out.SMTP, out.TLS, out.Versions = r.SMTP, r.TLS, r.Versions
	if r.Trust != nil {
		opts := p.Trust
		opts.Name = r.ServerName
		out.Result = certinfo.FromReport(*r.Trust, opts)
		if out.Path == nil {
			out.Path = []int{}
		}
	}
	return out, hint(err, p.Addr)
}

// hint adjusts the fix of a connection failure to probe's command line:
// the host is an argument, not --server. (A STARTTLS greeting that never
// comes, an implicit-TLS port, gets --tls implicit from the flag-hint
// table.)
func hint(err error, addr string) error {
	var se *smtp.Error
	if errors.As(err, &se) && se.HostNotFound() {
		host, _, _ := net.SplitHostPort(addr)
		se.Fix = fmt.Sprintf("the name %q does not resolve; check the host given to probe", host)
	}
	return err
}

// writeText prints the probe for people: the verdict, the SMTP and TLS
// sessions (probe.Report.WriteText), then the chain, the problems and the
// details as 'cert verify' prints them.
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
	if err := r.report.WriteText(&b); err != nil {
		return err
	}
	b.Write(rest)
	_, err := w.Write(b.Bytes())
	return err
}
