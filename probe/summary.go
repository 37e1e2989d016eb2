package probe

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/certinfo"
	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Summary is a probe's Report for printing: the verification of the chain
// the server sent as a certificate report (the verdict, every problem, each
// certificate's details), and what was learnt of the SMTP and TLS
// sessions. Its JSON is the object `tlsmail probe --json` prints, less the
// command's error.
type Summary struct {
	certinfo.Result
	Server   string    `json:"server"`
	Mode     string    `json:"mode"`
	SMTP     *SMTP     `json:"smtp"`
	TLS      *TLS      `json:"tls"`
	Versions []Version `json:"versions,omitempty"`
}

// Summarize makes the Summary of r, a probe of server in mode verified with
// opts (Config.Trust). r may be nil (no probe could start): the Summary
// then names the server and mode only, with empty lists.
func Summarize(server string, mode smtp.TLSMode, r *Report, opts trust.Options) *Summary {
	s := &Summary{
		Result: certinfo.Result{Time: time.Now().UTC(), Problems: []trust.Problem{}, Certificates: []certinfo.Certificate{}, Path: []int{}},
		Server: server, Mode: string(mode),
	}
	if r == nil {
		return s
	}
	s.Mode, s.Name = string(r.Mode), r.ServerName
	s.SMTP, s.TLS, s.Versions = r.SMTP, r.TLS, r.Versions
	if r.Trust != nil {
		opts.Name = r.ServerName
		s.Result = certinfo.FromReport(*r.Trust, opts)
		if s.Path == nil {
			s.Path = []int{}
		}
	}
	return s
}

// WriteText prints the summary for people: the verdict, the SMTP and TLS
// sessions, the TLS versions tried, then the chain, the problems and the
// details of each certificate as certinfo.Result.WriteText does. Text the
// server chose (greeting, capabilities, errors) is quoted
// (safetext.Quote).
func (s *Summary) WriteText(w io.Writer) error {
	verdict := fmt.Sprintf("FAIL: no TLS session with %s", safetext.Quote(s.Server))
	var rest []byte
	if s.TLS != nil || len(s.Problems) > 0 {
		var b bytes.Buffer
		if err := s.Result.WriteText(&b); err != nil {
			return err
		}
		first, after, _ := bytes.Cut(b.Bytes(), []byte("\n"))
		verdict, rest = string(first), after
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, verdict)
	fmt.Fprintln(&b)
	row := func(label, value string) { fmt.Fprintf(&b, "  %-12s %s\n", label, safetext.Quote(value)) }
	fmt.Fprintln(&b, "SMTP:")
	row("server", fmt.Sprintf("%s (%s)", s.Server, smtp.TLSMode(s.Mode).Name()))
	if m := s.SMTP; m != nil {
		if m.Banner != "" {
			row("banner", m.Banner)
		}
		if s.Mode == string(smtp.StartTLS) && m.Banner != "" {
			row("ehlo", orNone(m.EHLO))
			offered := "offered"
			if !m.StartTLS {
				offered = "NOT offered: mail to this server travels in the clear"
			}
			row("starttls", offered)
		}
		if s.TLS != nil {
			row("ehlo (tls)", orNone(m.EHLOTLS))
		}
	}
	if t := s.TLS; t != nil {
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
	if len(s.Versions) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "TLS versions:")
		for _, v := range s.Versions {
			line := v.Result
			if v.Cipher != "" {
				line += ", " + v.Cipher
			}
			if v.Detail != "" {
				line += ": " + v.Detail
			}
			row(v.Version, line)
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
