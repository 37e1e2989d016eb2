// Package certinfo turns a certificate chain and its trust.Report into what
// the tlsmail commands print: per-certificate details, the JSON document and
// the human rendering (a verdict line, the chain as a small tree with a mark
// on each certificate, the problems with their fixes, then the details). It
// also loads chain and key files, with a typed error (InputError) for one
// that is missing, unreadable or holds nothing usable. Command-line flags
// and exit codes are the CLI's (cmd/tlsmail): this package takes the
// trust.Options they make.
package certinfo

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/trust"
)

// Certificate is what is shown of one certificate.
type Certificate struct {
	// Index is the certificate's position in Result.Certificates, the
	// number problems refer to.
	Index int `json:"index"`
	// Role is "leaf", "intermediate", "root" or "unused" (sent but not part
	// of the path).
	Role string `json:"role"`
	// Sent is false for a trusted root the server did not send.
	Sent       bool      `json:"sent"`
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	SANs       []string  `json:"sans"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	DaysLeft   int       `json:"days_left"`
	Key        string    `json:"key"`
	Signature  string    `json:"signature"`
	SHA256     string    `json:"sha256"`
	SPKISHA256 string    `json:"spki_sha256"`
	Serial     string    `json:"serial"`
	IsCA       bool      `json:"ca"`
	SelfSigned bool      `json:"self_signed"`
	// Unparsed is true for a certificate crypto/x509 could not parse
	// (trust.KindUnparseable): only Index, Role, Sent and, when the DER
	// is known, SHA256 are set.
	Unparsed bool `json:"unparsed,omitempty"`
}

// Describe returns c's details; now is the reference for DaysLeft.
func Describe(c *x509.Certificate, now time.Time) Certificate {
	d := Certificate{
		Subject:    nameOf(c.Subject.String()),
		Issuer:     nameOf(c.Issuer.String()),
		SANs:       SANs(c),
		NotBefore:  c.NotBefore.UTC(),
		NotAfter:   c.NotAfter.UTC(),
		DaysLeft:   int(math.Floor(c.NotAfter.Sub(now).Hours() / 24)),
		Key:        KeyDescription(c.PublicKey),
		Signature:  c.SignatureAlgorithm.String(),
		SHA256:     Fingerprint(c),
		SPKISHA256: trust.SPKIPin(c),
		IsCA:       c.BasicConstraintsValid && c.IsCA,
		SelfSigned: string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil,
	}
	if c.SerialNumber != nil {
		d.Serial = fmt.Sprintf("%X", c.SerialNumber)
	}
	return d
}

func nameOf(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// SANs lists the subjectAltName entries: DNS names, then IP addresses,
// then email addresses and URIs.
func SANs(c *x509.Certificate) []string {
	out := []string{}
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// KeyDescription says "RSA 2048", "ECDSA P-256", "Ed25519".
func KeyDescription(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case nil:
		return "unknown"
	}
	return fmt.Sprintf("%T", pub)
}

// Fingerprint is the SHA-256 of the certificate's DER, as colon-separated
// upper-case hex (the form openssl x509 -fingerprint -sha256 prints).
func Fingerprint(c *x509.Certificate) string { return FingerprintDER(c.Raw) }

// FingerprintDER is Fingerprint for a certificate's DER, parsed or not.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Result is the data the commands print, as text or as JSON.
type Result struct {
	OK bool `json:"ok"`
	// Name is the name verified, if any.
	Name string `json:"name,omitempty"`
	// Time is the reference time of the verification.
	Time     time.Time       `json:"time"`
	Problems []trust.Problem `json:"problems"`
	// Certificates is the chain as sent, then the trusted root that
	// completes it when the server did not send it.
	Certificates []Certificate `json:"certificates"`
	// Path is the path built, leaf first, as indices into Certificates.
	Path []int `json:"path"`
	// Trusted is true when the path ends in a trusted root.
	Trusted    bool                     `json:"trusted"`
	Revocation []trust.RevocationResult `json:"revocation,omitempty"`
	// Key describes the private key file, for 'cert check'.
	Key *KeyInfo `json:"private_key,omitempty"`
	// Insecure is true when the verdict was overridden (--insecure): the
	// problems are still listed.
	Insecure bool `json:"insecure,omitempty"`
}

// FromReport builds the Result for r, verified with opts.
func FromReport(r trust.Report, opts trust.Options) Result {
	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	res := Result{OK: r.OK(), Name: opts.Name, Time: now.UTC(), Problems: append([]trust.Problem{}, r.Problems...), Trusted: r.Trusted,
		Revocation: r.Revocation, Path: append([]int{}, r.PathIndex...), Certificates: []Certificate{}}
	if len(res.Path) == 0 && len(r.Chain) > 0 && r.Chain[0] == nil {
		res.Path = []int{0} // the leaf, which could not be parsed
	}
	onPath := map[int]int{}
	for pos, i := range r.PathIndex {
		onPath[i] = pos
	}
	for i, c := range r.Certificates() {
		if c == nil {
			// Not parsed (trust.KindUnparseable): nothing to describe.
			role := "unused"
			if i == 0 {
				role = "leaf"
			}
			res.Certificates = append(res.Certificates, Certificate{Index: i, Role: role, Sent: true, Subject: "(cannot be parsed)", Unparsed: true})
			continue
		}
		d := Describe(c, now)
		d.Index, d.Sent = i, i < len(r.Chain)
		pos, ok := onPath[i]
		switch {
		case !ok:
			d.Role = "unused"
		case pos == 0:
			d.Role = "leaf"
		case pos == len(r.PathIndex)-1 && (r.Trusted || d.SelfSigned):
			d.Role = "root"
		default:
			d.Role = "intermediate"
		}
		res.Certificates = append(res.Certificates, d)
	}
	return res
}

// Errors and Warnings count the problems by severity.
func (r Result) Errors() int   { return r.count(trust.SeverityError) }
func (r Result) Warnings() int { return r.count(trust.SeverityWarning) }

func (r Result) count(s trust.Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == s {
			n++
		}
	}
	return n
}

// addProblem appends p, keeping errors before warnings, and updates OK.
func (r *Result) addProblem(p trust.Problem) {
	if p.Severity == trust.SeverityError {
		i := 0
		for i < len(r.Problems) && r.Problems[i].Severity == trust.SeverityError {
			i++
		}
		r.Problems = append(r.Problems[:i], append([]trust.Problem{p}, r.Problems[i:]...)...)
		r.OK = false
		return
	}
	r.Problems = append(r.Problems, p)
}
