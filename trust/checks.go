package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

// Minimum key sizes below which a key is reported as weak-key (NIST SP
// 800-57 Part 1, table 2: 112-bit security).
const (
	MinRSABits = 2048
	MinECBits  = 256
)

// DefaultExpiryWarning is how close to its expiry a certificate draws the
// expiring-soon warning when Options.ExpiryWarning is zero.
const DefaultExpiryWarning = 14 * 24 * time.Hour

// certName names certificate idx of the chain in a summary: "certificate
// idx", followed by " (detail)" when detail is not empty. A certificate the
// server did not send (Options.Sent) is "a certificate the server did not
// send (SUBJECT)" instead: its index is no index of the server's chain.
func (v *verifier) certName(idx int, detail string) string {
	if s := v.opts.Sent; s > 0 && idx >= s && idx < len(v.r.Chain) {
		return "a certificate the server did not send (" + subjectOf(v.certs[idx]) + ")"
	}
	if detail == "" {
		return fmt.Sprintf("certificate %d", idx)
	}
	return fmt.Sprintf("certificate %d (%s)", idx, detail)
}

func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	if len(c.DNSNames) > 0 {
		return "(empty subject, DNS:" + c.DNSNames[0] + ")"
	}
	return "(empty subject)"
}

func issuerOf(c *x509.Certificate) string {
	if s := c.Issuer.String(); s != "" {
		return s
	}
	return "(empty issuer)"
}

// signedBy checks child's signature with parent's key, without the policy
// checks of CheckSignatureFrom (CA flag, key usage, SHA-1), which the
// diagnosis reports on their own. MD5 signatures, which crypto/x509 never
// verifies, are checked here so that they can be named as weak rather than
// as forged.
func signedBy(child, parent *x509.Certificate) error {
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	var ia x509.InsecureAlgorithmError
	if errors.As(err, &ia) && child.SignatureAlgorithm == x509.MD5WithRSA {
		pub, ok := parent.PublicKey.(*rsa.PublicKey)
		if !ok {
			return err
		}
		h := md5.Sum(child.RawTBSCertificate)
		return rsa.VerifyPKCS1v15(pub, crypto.MD5, h[:], child.Signature)
	}
	return err
}

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func selfSigned(c *x509.Certificate) bool {
	return c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) && signedBy(c, c) == nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// ago says how far t is from now in days, in words.
func ago(t, now time.Time) string {
	d := t.Sub(now)
	days := int(math.Round(math.Abs(d.Hours()) / 24))
	unit := "days"
	if days == 1 {
		unit = "day"
	}
	switch {
	case math.Abs(d.Hours()) < 24:
		h := int(math.Round(math.Abs(d.Hours())))
		if d < 0 {
			return fmt.Sprintf("%d hours ago", h)
		}
		return fmt.Sprintf("in %d hours", h)
	case d < 0:
		return fmt.Sprintf("%d %s ago", days, unit)
	default:
		return fmt.Sprintf("in %d %s", days, unit)
	}
}

// role names a certificate by its place in the path.
func (v *verifier) role(pos int) string {
	switch {
	case pos == 0:
		return "the server's certificate"
	case pos == len(v.path)-1 && (v.r.Trusted || selfSigned(v.certs[v.path[pos]])):
		return "the root"
	default:
		return "the intermediate"
	}
}

// checkCerts runs the per-certificate checks along the path.
func (v *verifier) checkCerts() {
	warn := v.opts.ExpiryWarning
	if warn == 0 {
		warn = DefaultExpiryWarning
	}
	last := len(v.path) - 1
	for pos, idx := range v.path {
		c := v.certs[idx]
		name := v.certName(idx, v.role(pos)+", "+subjectOf(c))
		isRoot := pos == last && (v.r.Trusted || selfSigned(c))

		for _, oid := range c.UnhandledCriticalExtensions {
			v.add(KindMalformed, SeverityError, idx,
				fmt.Sprintf("%s has a critical extension %s that verifiers do not understand, so they must reject it", name, oid),
				"have the certificate reissued without that extension, or with it marked non-critical")
		}

		// RFC 5280, 4.1.2.5: validity.
		switch {
		case v.now.Before(c.NotBefore):
			v.add(KindNotYetValid, SeverityError, idx,
				fmt.Sprintf("%s is not valid until %s (%s); the time used is %s", name, day(c.NotBefore), ago(c.NotBefore, v.now), day(v.now)),
				"check this machine's clock and time zone; if the clock is right, the server installed a certificate too early: wait, or use the previous certificate until then")
		case v.now.After(c.NotAfter):
			fix := "renew the certificate and install it on the server (with certbot: 'certbot renew', then reload the mail server)"
			if isRoot {
				fix = fmt.Sprintf("the root CA certificate %s has expired: update the trust store or the CA file with the CA's current root", subjectOf(c))
			} else if pos > 0 {
				fix = fmt.Sprintf("the intermediate %s has expired: put the CA's current intermediate in the server's chain file (fullchain.pem)", subjectOf(c))
			}
			v.add(KindExpired, SeverityError, idx,
				fmt.Sprintf("%s expired on %s (%s); the time used is %s", name, day(c.NotAfter), ago(c.NotAfter, v.now), day(v.now)),
				fix)
		case warn > 0 && c.NotAfter.Sub(v.now) < warn:
			v.add(KindExpiringSoon, SeverityWarning, idx,
				fmt.Sprintf("%s expires on %s (%s)", name, day(c.NotAfter), ago(c.NotAfter, v.now)),
				"renew the certificate before it expires; check that automatic renewal (e.g. certbot's timer) is running")
		}

		v.checkKey(idx, name, c)

		// Signature strength: the root's own signature is not relied upon.
		if !isRoot && !selfSigned(c) {
			if weak, why := weakSignature(c.SignatureAlgorithm); weak {
				v.add(KindWeakSignature, SeverityError, idx,
					fmt.Sprintf("%s is signed with %s, %s", name, c.SignatureAlgorithm, why),
					"have the certificate reissued with a SHA-256 (or stronger) signature; CAs have not issued SHA-1 certificates since 2016")
			}
		}

		// Extended key usage, nested down the chain as crypto/x509 and
		// browsers enforce it (RFC 5280, 4.2.1.12).
		if !serverAuthOK(c) {
			ekus := ekuNames(c)
			if pos == 0 {
				v.add(KindWrongUsage, SeverityError, idx,
					fmt.Sprintf("%s is not for TLS servers: its extended key usage is %s, without serverAuth", name, ekus),
					"have the certificate reissued with extended key usage serverAuth (TLS Web Server Authentication); a client certificate cannot be used by a server")
			} else {
				v.add(KindWrongUsage, SeverityError, idx,
					fmt.Sprintf("%s limits the certificates below it to %s, without serverAuth", name, ekus),
					"the server needs a chain from a CA allowed to issue server certificates; ask the CA for the right intermediate")
			}
		}
		if pos == 0 {
			v.checkLeafKeyUsage(idx, name, c)
		}

		if pos > 0 {
			v.checkIssuer(pos, idx, name, c, isRoot)
		}
	}
}

func (v *verifier) checkIssuer(pos, idx int, name string, c *x509.Certificate, isRoot bool) {
	// RFC 5280, 4.2.1.9: only a CA may sign certificates.
	notCA := !c.BasicConstraintsValid || !c.IsCA
	if isRoot {
		notCA = c.Version == 3 && !c.BasicConstraintsValid || c.BasicConstraintsValid && !c.IsCA
	}
	if notCA {
		what := "is not a CA (basicConstraints CA:FALSE)"
		if !c.BasicConstraintsValid {
			what = "has no basicConstraints extension, so it is not a CA"
		}
		v.add(KindNotACA, SeverityError, idx,
			fmt.Sprintf("%s %s, yet it signed %s", name, what, v.certName(v.path[pos-1], "")),
			"an end-entity certificate cannot issue others: get the server certificate from a real CA, and send that CA's intermediate, not another server certificate")
	}
	// RFC 5280, 4.2.1.3: keyCertSign.
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		v.add(KindWrongUsage, SeverityError, idx,
			fmt.Sprintf("%s signed %s but its key usage (%s) lacks keyCertSign", name, v.certName(v.path[pos-1], ""), keyUsageNames(c.KeyUsage)),
			"the CA certificate must be reissued with key usage keyCertSign")
	}
	// RFC 5280, 4.2.1.9: pathLenConstraint counts the intermediates below.
	if below := pos - 1; c.BasicConstraintsValid && c.MaxPathLen >= 0 && below > c.MaxPathLen {
		v.add(KindPathLength, SeverityError, idx,
			fmt.Sprintf("%s allows at most %d intermediate CA(s) below it (pathLenConstraint %d), but the chain has %d", name, c.MaxPathLen, c.MaxPathLen, below),
			"the server must use a certificate issued through a shorter chain; the CA issued an intermediate its own constraint does not allow")
	}
	// RFC 5280, 4.2.1.10: name constraints apply to every certificate below.
	if hasNameConstraints(c) {
		for _, j := range v.path[:pos] {
			below := v.certs[j]
			for _, bad := range violations(c, below) {
				v.add(KindNameConstraints, SeverityError, j,
					fmt.Sprintf("%s has %s, which %s", v.certName(j, subjectOf(below)), bad, fmt.Sprintf("the CA %s may not issue for (%s)", subjectOf(c), constraintsText(c))),
					"have the certificate reissued only for names the CA is allowed to issue for, or obtain it from a CA without these name constraints")
			}
		}
	}
}

// checkLeafKeyUsage warns about a leaf key usage that strict TLS stacks
// refuse (RFC 5280, 4.2.1.3; RFC 8446, 4.4.2.2).
func (v *verifier) checkLeafKeyUsage(idx int, name string, c *x509.Certificate) {
	if c.KeyUsage == 0 {
		return
	}
	need := x509.KeyUsageDigitalSignature
	if _, ok := c.PublicKey.(*rsa.PublicKey); ok {
		need |= x509.KeyUsageKeyEncipherment
	}
	if c.KeyUsage&need == 0 {
		v.add(KindWrongUsage, SeverityWarning, idx,
			fmt.Sprintf("%s has key usage %s, without digitalSignature: OpenSSL, Schannel and others refuse it for TLS", name, keyUsageNames(c.KeyUsage)),
			"have the certificate reissued with key usage digitalSignature (and keyEncipherment for an RSA key)")
	}
}

func (v *verifier) checkKey(idx int, name string, c *x509.Certificate) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			v.add(KindWeakKey, SeverityError, idx,
				fmt.Sprintf("%s has a %d-bit RSA key; at least %d bits are required", name, bits, MinRSABits),
				"generate a new key (RSA 2048 or more, or ECDSA P-256) and have the certificate reissued for it")
		}
	case *ecdsa.PublicKey:
		if bits := k.Curve.Params().BitSize; bits < MinECBits {
			v.add(KindWeakKey, SeverityError, idx,
				fmt.Sprintf("%s has an ECDSA key on %s (%d bits); at least %d bits are required", name, k.Curve.Params().Name, bits, MinECBits),
				"generate a new key on P-256 or P-384 and have the certificate reissued for it")
		}
	case ed25519.PublicKey:
	default:
		v.add(KindWeakKey, SeverityError, idx,
			fmt.Sprintf("%s has a %s key, which TLS clients do not support", name, c.PublicKeyAlgorithm),
			"generate an RSA (2048 bits or more) or ECDSA P-256 key and have the certificate reissued for it")
	}
}

func weakSignature(a x509.SignatureAlgorithm) (bool, string) {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA:
		return true, "a broken hash (collisions are practical): clients reject it"
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		return true, "a hash with practical collisions (SHAttered, 2017): clients reject it"
	case x509.DSAWithSHA256:
		return true, "DSA, which TLS clients no longer support"
	case x509.UnknownSignatureAlgorithm:
		return true, "an algorithm this verifier does not know"
	}
	return false, ""
}

func serverAuthOK(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

var ekuText = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny: "any", x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
	x509.ExtKeyUsageCodeSigning: "codeSigning", x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem: "ipsecEndSystem", x509.ExtKeyUsageIPSECTunnel: "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser: "ipsecUser", x509.ExtKeyUsageTimeStamping: "timeStamping",
	x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
}

func ekuNames(c *x509.Certificate) string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if s, ok := ekuText[u]; ok {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", u))
		}
	}
	for _, o := range c.UnknownExtKeyUsage {
		out = append(out, o.String())
	}
	return strings.Join(out, ", ")
}

func keyUsageNames(u x509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var out []string
	for i, n := range names {
		if u&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// checkName matches opts.Name against the leaf's subjectAltName (see
// NameProblem).
func (v *verifier) checkName() {
	if p := NameProblem(v.certs[0], v.opts.Name); p != nil {
		v.r.Problems = append(v.r.Problems, *p)
	}
}

// NameProblem matches name, a DNS name or an IP address, against leaf's
// subjectAltName (RFC 6125, 6.4; RFC 5280, 4.2.1.6; IP addresses against
// the IP SANs) and returns the name-mismatch problem Verify reports when
// it does not match, or nil when it does or name is empty. The common name
// is not used, as in every current TLS client. The problem says which
// names the certificate lists and how to fix it. Providers that leave the
// chain to another verifier (Schannel with the system's) use it to report
// a wrong name in the same words. leaf must not be nil.
func NameProblem(leaf *x509.Certificate, name string) *Problem {
	if name == "" || leaf.VerifyHostname(name) == nil {
		return nil
	}
	var has []string
	for _, n := range leaf.DNSNames {
		has = append(has, fmt.Sprintf("%q", n))
	}
	for _, ip := range leaf.IPAddresses {
		has = append(has, ip.String())
	}
	ipName := net.ParseIP(strings.Trim(name, "[]")) != nil
	var summary string
	switch {
	case len(has) == 0 && leaf.Subject.CommonName != "":
		summary = fmt.Sprintf("certificate 0 has no subjectAltName, only the common name %q, which clients no longer use; it is not valid for %q", leaf.Subject.CommonName, name)
	case len(has) == 0:
		summary = fmt.Sprintf("certificate 0 names no host at all; it is not valid for %q", name)
	case ipName && len(leaf.IPAddresses) == 0:
		summary = fmt.Sprintf("%s is an IP address but certificate 0 lists no IP addresses, only %s", name, strings.Join(has, ", "))
	default:
		summary = fmt.Sprintf("certificate 0 is valid for %s, not for %q", strings.Join(has, ", "), name)
	}
	// The setting is the server name to verify; the CLI adds its flag
	// (--tls-name for send, --name for probe and cert).
	fix := fmt.Sprintf("connect using a name the certificate lists as the server name to verify, or have the certificate reissued with %q in its subjectAltName", name)
	if len(has) > 0 {
		fix = fmt.Sprintf("connect using a name the certificate lists as the server name to verify, e.g. %s, or have the certificate reissued with %q in its subjectAltName", strings.Trim(has[0], `"`), name)
	}
	// As verifier.add words every problem: peer text quoted.
	return &Problem{Kind: KindNameMismatch, Severity: SeverityError, Cert: 0,
		Subject: safetext.Quote(subjectOf(leaf)), Summary: safetext.Quote(summary), Fix: safetext.Quote(fix)}
}

var oidNameConstraints = []int{2, 5, 29, 30}

func hasNameConstraints(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidNameConstraints) {
			return true
		}
	}
	return false
}

func constraintsText(c *x509.Certificate) string {
	var parts []string
	add := func(label string, l []string) {
		if len(l) > 0 {
			parts = append(parts, label+" "+strings.Join(l, ", "))
		}
	}
	add("permitted DNS", c.PermittedDNSDomains)
	add("excluded DNS", c.ExcludedDNSDomains)
	add("permitted IP", ipnets(c.PermittedIPRanges))
	add("excluded IP", ipnets(c.ExcludedIPRanges))
	add("permitted email", c.PermittedEmailAddresses)
	add("excluded email", c.ExcludedEmailAddresses)
	add("permitted URI", c.PermittedURIDomains)
	add("excluded URI", c.ExcludedURIDomains)
	return strings.Join(parts, "; ")
}

func ipnets(l []*net.IPNet) []string {
	var out []string
	for _, n := range l {
		out = append(out, n.String())
	}
	return out
}

// violations lists the names in c's subjectAltName that ca's name
// constraints forbid (RFC 5280, 4.2.1.10, with the leading-period form for
// DNS names that crypto/x509 and browsers accept).
func violations(ca, c *x509.Certificate) []string {
	var out []string
	for _, n := range c.DNSNames {
		if !permitted(ca.PermittedDNSDomains, ca.ExcludedDNSDomains, n, dnsMatch) {
			out = append(out, fmt.Sprintf("DNS name %q", n))
		}
	}
	for _, ip := range c.IPAddresses {
		if !ipPermitted(ca.PermittedIPRanges, ca.ExcludedIPRanges, ip) {
			out = append(out, "IP address "+ip.String())
		}
	}
	for _, e := range c.EmailAddresses {
		if !permitted(ca.PermittedEmailAddresses, ca.ExcludedEmailAddresses, e, emailMatch) {
			out = append(out, fmt.Sprintf("email address %q", e))
		}
	}
	for _, u := range c.URIs {
		if !permitted(ca.PermittedURIDomains, ca.ExcludedURIDomains, uriHost(u), dnsMatch) {
			out = append(out, fmt.Sprintf("URI %q", u.String()))
		}
	}
	return out
}

func permitted(allow, deny []string, name string, match func(constraint, name string) bool) bool {
	if len(allow) > 0 {
		ok := false
		for _, c := range allow {
			if match(c, name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, c := range deny {
		if match(c, name) {
			return false
		}
		// A wildcard covers an excluded subdomain.
		if strings.HasPrefix(name, "*.") && match(c, "x"+name[1:]) && strings.Count(c, ".") == strings.Count(name, ".") {
			return false
		}
	}
	return true
}

// dnsMatch: "example.com" matches itself and its subdomains,
// ".example.com" only the subdomains, "" everything.
func dnsMatch(constraint, name string) bool {
	constraint, name = strings.ToLower(constraint), strings.ToLower(strings.TrimSuffix(name, "."))
	if constraint == "" {
		return true
	}
	if strings.HasPrefix(constraint, ".") {
		return strings.HasSuffix(name, constraint)
	}
	return name == constraint || strings.HasSuffix(name, "."+constraint)
}

func emailMatch(constraint, addr string) bool {
	if strings.Contains(constraint, "@") {
		return strings.EqualFold(constraint, addr)
	}
	at := strings.LastIndex(addr, "@")
	return dnsMatch(constraint, addr[at+1:])
}

func uriHost(u *url.URL) string {
	if h := u.Hostname(); h != "" {
		return h
	}
	return u.Host
}

func ipPermitted(allow, deny []*net.IPNet, ip net.IP) bool {
	if len(allow) > 0 {
		ok := false
		for _, n := range allow {
			if n.Contains(ip) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, n := range deny {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}
