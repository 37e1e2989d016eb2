package certinfo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/trust"
)

// Marks drawn on each certificate of the tree and before each problem.
const (
	MarkOK      = "✓"
	MarkError   = "✗"
	MarkWarning = "!"
	MarkMissing = "?"
)

// WriteJSON writes r as one indented JSON document.
func (r Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Verdict is the first line of the human output. The name is quoted as by
// safetext.Quote, like every other string of the text rendering.
func (r Result) Verdict() string {
	subject := "the certificate chain"
	if r.Name != "" {
		subject = fmt.Sprintf("the certificate chain for %s", safetext.Quote(r.Name))
	}
	counts := func() string {
		var parts []string
		if n := r.Errors(); n > 0 {
			parts = append(parts, plural(n, "error"))
		}
		if n := r.Warnings(); n > 0 {
			parts = append(parts, plural(n, "warning"))
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case !r.OK && r.Insecure:
		return fmt.Sprintf("INSECURE: %s is NOT trusted (%s), accepted anyway because of --insecure", subject, counts())
	case !r.OK:
		return fmt.Sprintf("FAIL: %s is not trusted (%s)", subject, counts())
	case r.Warnings() > 0:
		return fmt.Sprintf("OK: %s is trusted (%s)", subject, counts())
	}
	return fmt.Sprintf("OK: %s is trusted", subject)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// mark is the worst severity of the problems on certificate i.
func (r Result) mark(i int) string {
	m := MarkOK
	for _, p := range r.Problems {
		if p.Cert != i {
			continue
		}
		if p.Severity == trust.SeverityError {
			return MarkError
		}
		m = MarkWarning
	}
	return m
}

// kinds lists the kinds of the problems on certificate i.
func (r Result) kinds(i int) string {
	var ks []string
	for _, p := range r.Problems {
		if p.Cert == i {
			ks = append(ks, string(p.Kind))
		}
	}
	return strings.Join(ks, ", ")
}

// WriteText writes the human rendering: the verdict line, the chain as a
// tree, the problems with their fixes, then the details of each
// certificate.
//
// Names, summaries and other text from the certificates are the peer's
// choice: they are written through safetext.Quote, so a certificate cannot
// put terminal escapes or forged lines (a "fix:" of its own) on the
// screen. WriteJSON needs no such step: JSON escapes control characters.
func (r Result) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, r.Verdict())
	fmt.Fprintln(bw)
	r.writeTree(bw)
	if len(r.Problems) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "Problems:")
		for _, p := range r.Problems {
			m := MarkError
			if p.Severity == trust.SeverityWarning {
				m = MarkWarning
			}
			where := ""
			if p.Cert >= 0 {
				where = fmt.Sprintf(" [%d]", p.Cert)
			}
			fmt.Fprintf(bw, "  %s %s%s: %s\n", m, p.Kind, where, safetext.Quote(p.Summary))
			fmt.Fprintf(bw, "    fix: %s\n", safetext.Quote(p.Fix))
		}
	}
	if r.Key != nil {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "Private key:")
		fmt.Fprintf(bw, "  file       %s (mode %04o)\n", safetext.Quote(r.Key.Path), r.Key.Mode.Perm())
		if r.Key.Type != "" {
			fmt.Fprintf(bw, "  key        %s\n", safetext.Quote(r.Key.Type))
		}
		match := "no"
		if r.Key.MatchesCert {
			match = "yes"
		}
		fmt.Fprintf(bw, "  matches    %s\n", match)
	}
	if len(r.Certificates) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "Certificates:")
		for _, c := range r.Certificates {
			r.writeDetails(bw, c)
		}
	}
	return bw.Flush()
}

func (r Result) writeTree(w io.Writer) {
	fmt.Fprintln(w, "Chain:")
	if len(r.Certificates) == 0 {
		fmt.Fprintln(w, "  (no certificate could be read)")
		return
	}
	indent := "  "
	for pos, i := range r.Path {
		if i < 0 || i >= len(r.Certificates) {
			continue
		}
		c := r.Certificates[i]
		branch := ""
		if pos > 0 {
			branch = "└─ "
		}
		var notes []string
		if c.Role != "leaf" {
			notes = append(notes, c.Role)
		}
		if !c.Sent {
			notes = append(notes, "trusted, not sent")
		} else if c.Role == "root" && r.Trusted {
			notes = append(notes, "trusted")
		}
		if k := r.kinds(i); k != "" {
			notes = append(notes, k)
		}
		note := ""
		if len(notes) > 0 {
			note = "  (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "%s%s%s [%d] %s%s\n", indent, branch, r.mark(i), i, safetext.Quote(c.Subject), note)
		if pos > 0 {
			indent += "   "
		}
	}
	// The issuer nobody sent or trusts.
	if len(r.Path) > 0 && !r.Trusted {
		top := r.Certificates[r.Path[len(r.Path)-1]]
		if !top.SelfSigned && !top.Unparsed {
			branch := "└─ "
			fmt.Fprintf(w, "%s%s%s %s  (not sent, not trusted)\n", indent, branch, MarkMissing, safetext.Quote(top.Issuer))
		}
	}
	for _, c := range r.Certificates {
		if c.Role == "unused" {
			fmt.Fprintf(w, "  %s [%d] %s  (sent but not part of the chain)\n", MarkWarning, c.Index, safetext.Quote(c.Subject))
		}
	}
}

func (r Result) writeDetails(w io.Writer, c Certificate) {
	sent := ""
	if !c.Sent {
		sent = ", from the trust store"
	}
	fmt.Fprintf(w, "  [%d] %s (%s%s)\n", c.Index, safetext.Quote(c.Subject), c.Role, sent)
	row := func(label, value string) {
		if value != "" {
			fmt.Fprintf(w, "      %-11s %s\n", label, safetext.Quote(value))
		}
	}
	row("issuer", c.Issuer)
	row("names", strings.Join(c.SANs, ", "))
	left := fmt.Sprintf("%d days left", c.DaysLeft)
	if c.DaysLeft < 0 {
		left = fmt.Sprintf("expired %d days ago", -c.DaysLeft)
	}
	if c.Unparsed {
		row("sha256", c.SHA256)
		return
	}
	row("valid", fmt.Sprintf("%s to %s (%s)", c.NotBefore.Format("2006-01-02 15:04 UTC"), c.NotAfter.Format("2006-01-02 15:04 UTC"), left))
	row("key", c.Key)
	row("signature", c.Signature)
	row("serial", c.Serial)
	row("sha256", c.SHA256)
	row("spki pin", c.SPKISHA256)
	for _, rv := range r.Revocation {
		if rv.Cert != c.Index {
			continue
		}
		s := string(rv.Status)
		if rv.Source != "" {
			s += " (" + rv.Source + ")"
		}
		if rv.Status == trust.StatusUnknown && rv.Detail != "" {
			s += ": " + rv.Detail
		}
		row("revocation", s)
	}
}
