package probe

import (
	"fmt"
	"io"
	"strings"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/smtp"
)

// WriteText writes what the probe learnt of the sessions, for people: the
// SMTP section (the server and mode, the greeting, the capabilities before
// and after STARTTLS, whether STARTTLS was offered), the TLS session, and
// the TLS versions tried. Text the server chose is quoted
// (safetext.Quote). The chain and its trust report (Trust) are not
// written: they are a certificate report of their own.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	row := func(label, value string) { fmt.Fprintf(&b, "  %-12s %s\n", label, safetext.Quote(value)) }
	fmt.Fprintln(&b, "SMTP:")
	row("server", fmt.Sprintf("%s (%s)", r.Server, r.Mode.Name()))
	if s := r.SMTP; s != nil {
		if s.Banner != "" {
			row("banner", s.Banner)
		}
		if r.Mode == smtp.StartTLS && s.Banner != "" {
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
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}
