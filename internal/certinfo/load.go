package certinfo

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tlsmail/tlsmail/trust"
)

// InputError is an input file that is missing, unreadable, or holds nothing
// usable.
type InputError struct {
	Path string
	// What happened, in words: "does not exist", "permission denied", ...
	Reason string
	// Fix says what to do.
	Fix string
	// Mode is the file's mode when it could be read (zero otherwise).
	Mode fs.FileMode
	Err  error
}

func (e *InputError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Path, e.Reason)
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

func (e *InputError) Unwrap() error { return e.Err }

// readFile reads path, naming a permission problem with the file's mode and
// owner.
func readFile(path, what string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	ie := &InputError{Path: path, Err: err}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ie.Reason = what + " does not exist"
		ie.Fix = "check the path"
	case errors.Is(err, fs.ErrPermission):
		ie.Reason = "permission denied reading the " + what
		if fi, serr := os.Stat(path); serr == nil {
			ie.Mode = fi.Mode()
			ie.Reason += fmt.Sprintf(" (mode %04o%s)", fi.Mode().Perm(), owner(fi))
		}
		ie.Fix = "run as a user that may read it (the mail server's user), or adjust its owner/group; keep a private key unreadable by others (chmod 640 with the server's group)"
	case isDir(path):
		ie.Reason = "is a directory, not a " + what + " file"
		ie.Fix = "give the path of the PEM file"
	default:
		ie.Reason = "cannot read the " + what + ": " + err.Error()
	}
	return nil, ie
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// LoadChain reads a PEM file of certificates, leaf first, as for
// 'cert check'. A single DER certificate is accepted too.
func LoadChain(path string) ([]*x509.Certificate, error) {
	data, err := readFile(path, "certificate file")
	if err != nil {
		return nil, err
	}
	return ParseChain(data, path)
}

// ParseChain parses the certificates in data (PEM, or one DER
// certificate); source names the input in errors. A certificate that
// crypto/x509 cannot parse is an *InputError here; 'cert verify' takes it
// as a problem of the chain instead (SplitChain, trust.VerifyDER).
func ParseChain(data []byte, source string) ([]*x509.Certificate, error) {
	ders, err := SplitChain(data, source)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, &InputError{Path: source, Err: err,
				Reason: fmt.Sprintf("certificate %d cannot be parsed: %v", i, err),
				Fix:    "the PEM block is damaged or is not an X.509 certificate; export the certificate again"}
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// LoadChainDER reads a chain file as SplitChain does.
func LoadChainDER(path string) ([][]byte, error) {
	data, err := readFile(path, "certificate file")
	if err != nil {
		return nil, err
	}
	return SplitChain(data, path)
}

// SplitChain returns the DER of each certificate in data, without parsing
// them: the PEM "CERTIFICATE" blocks in order, or data itself when it is
// one DER certificate (a SEQUENCE of the three fields of RFC 5280, section
// 4.1, even one crypto/x509 cannot parse). A file with no certificate in it
// at all is an *InputError.
func SplitChain(data []byte, source string) ([][]byte, error) {
	var ders [][]byte
	rest := data
	blocks, others := 0, []string{}
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		if b.Type != "CERTIFICATE" {
			others = append(others, b.Type)
			continue
		}
		if !looksLikeCertificate(b.Bytes) {
			return nil, &InputError{Path: source,
				Reason: fmt.Sprintf("certificate %d cannot be parsed: it does not have the structure of an X.509 certificate (the PEM block is damaged)", len(ders)),
				Fix:    "export the certificate again"}
		}
		ders = append(ders, b.Bytes)
	}
	if len(ders) > 0 {
		return ders, nil
	}
	if blocks == 0 {
		if looksLikeCertificate(data) {
			return [][]byte{data}, nil
		}
		return nil, &InputError{Path: source, Reason: "no PEM data found",
			Fix: "the file should contain \"-----BEGIN CERTIFICATE-----\" blocks, leaf first (convert DER with 'openssl x509 -inform der')"}
	}
	reason := fmt.Sprintf("no certificate found, only %s", strings.Join(others, ", "))
	fix := "give the certificate file, not this one"
	if strings.Contains(strings.Join(others, " "), "PRIVATE KEY") {
		fix = "this looks like a private key; give the certificate (chain) file"
	}
	return nil, &InputError{Path: source, Reason: reason, Fix: fix}
}

// looksLikeCertificate reports whether der has the outer shape of an X.509
// certificate (RFC 5280, section 4.1): a SEQUENCE of a SEQUENCE
// (tbsCertificate), a SEQUENCE (signatureAlgorithm) and a BIT STRING
// (signatureValue), and nothing after it.
func looksLikeCertificate(der []byte) bool {
	var cert struct {
		TBS, Algorithm asn1.RawValue
		Signature      asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &cert)
	return err == nil && len(rest) == 0 &&
		cert.TBS.Tag == asn1.TagSequence && cert.TBS.IsCompound &&
		cert.Algorithm.Tag == asn1.TagSequence && cert.Algorithm.IsCompound
}

// LoadRoots reads a PEM file of trusted roots.
func LoadRoots(path string) (*x509.CertPool, error) {
	certs, err := LoadChain(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// VerifyFile is 'cert verify': load the chain in chainFile (leaf first),
// verify it with opts, and describe the outcome. The error is an
// *InputError; a certificate in the chain that crypto/x509 cannot parse is
// a problem of the Result (trust.KindUnparseable), not an error.
func VerifyFile(ctx context.Context, chainFile string, opts trust.Options) (Result, error) {
	ders, err := LoadChainDER(chainFile)
	if err != nil {
		return Result{}, err
	}
	r := trust.VerifyDER(ctx, ders, opts)
	res := FromReport(r, opts)
	for i, c := range r.Chain {
		if c == nil && i < len(res.Certificates) {
			res.Certificates[i].SHA256 = FingerprintDER(ders[i])
		}
	}
	return res, nil
}

// Kinds of the problems 'cert check' adds about the private key.
const (
	KindKeyMismatch    trust.Kind = "key-mismatch"
	KindKeyEncrypted   trust.Kind = "key-encrypted"
	KindKeyPermissions trust.Kind = "key-permissions"
)

// KeyInfo describes the private key file of 'cert check'.
type KeyInfo struct {
	Path        string      `json:"path"`
	Mode        fs.FileMode `json:"mode"`
	Type        string      `json:"type,omitempty"`
	Encrypted   bool        `json:"encrypted,omitempty"`
	MatchesCert bool        `json:"matches_certificate"`
}

// CheckKeyPair is 'cert check': the server side. It checks that the key
// file is readable (a permission problem is an *InputError naming the path
// and the mode) and not readable by others, that the key matches the
// certificate, and verifies the chain in certFile (leaf first) with opts:
// complete, reaching a trusted root, the name in the SANs, dates, strength.
func CheckKeyPair(ctx context.Context, certFile, keyFile string, opts trust.Options) (Result, error) {
	chain, err := LoadChain(certFile)
	if err != nil {
		return Result{}, err
	}
	keyData, err := readFile(keyFile, "private key file")
	if err != nil {
		return Result{}, err
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		return Result{}, &InputError{Path: keyFile, Reason: "cannot stat the private key file", Err: err}
	}
	res := FromReport(trust.VerifyContext(ctx, chain, opts), opts)
	info := &KeyInfo{Path: keyFile, Mode: fi.Mode()}
	res.Key = info

	if perm := fi.Mode().Perm(); perm&0o004 != 0 {
		res.addProblem(trust.Problem{Kind: KindKeyPermissions, Severity: trust.SeverityWarning, Cert: -1,
			Summary: fmt.Sprintf("the private key %s is readable by every user on the machine (mode %04o)", keyFile, perm),
			Fix:     fmt.Sprintf("chmod 600 %s (or 640 with the mail server's group), and consider the key exposed if others have read it", keyFile)})
	}

	key, encrypted, err := parseKey(keyData, keyFile)
	if err != nil {
		return Result{}, err
	}
	if encrypted {
		info.Encrypted = true
		res.addProblem(trust.Problem{Kind: KindKeyEncrypted, Severity: trust.SeverityError, Cert: -1,
			Summary: fmt.Sprintf("the private key %s is encrypted with a passphrase, which a mail server starting unattended cannot enter", keyFile),
			Fix:     fmt.Sprintf("store it decrypted and readable only by the server: openssl pkey -in %s -out key.pem, then chmod 600 key.pem", keyFile)})
		return res, nil
	}
	info.Type = KeyDescription(key.Public())
	type equaler interface{ Equal(crypto.PublicKey) bool }
	matches := func(c *x509.Certificate) bool {
		pub, ok := c.PublicKey.(equaler)
		return ok && pub.Equal(key.Public())
	}
	if matches(chain[0]) {
		info.MatchesCert = true
		return res, nil
	}
	summary := fmt.Sprintf("the private key in %s (%s, pin %s) does not belong to certificate 0 (%s, key %s)",
		keyFile, info.Type, pinOfKey(key), res.Certificates[0].Subject, res.Certificates[0].SPKISHA256)
	fix := "use the key that was generated with this certificate's request, or reissue the certificate for this key; the server will fail every handshake otherwise"
	for i, c := range chain[1:] {
		if matches(c) {
			summary += fmt.Sprintf("; it belongs to certificate %d (%s)", i+1, res.Certificates[i+1].Subject)
			fix = fmt.Sprintf("the certificate file lists certificate %d first; put the server's own certificate first, then the intermediates", i+1)
		}
	}
	res.addProblem(trust.Problem{Kind: KindKeyMismatch, Severity: trust.SeverityError, Cert: 0,
		Subject: res.Certificates[0].Subject, Summary: summary, Fix: fix})
	return res, nil
}

func pinOfKey(k crypto.Signer) string {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return "?"
	}
	return trust.SPKIPin(&x509.Certificate{RawSubjectPublicKeyInfo: der})
}

// parseKey finds the private key in data: PKCS#8, PKCS#1 (RSA) or SEC 1
// (EC). encrypted is true for a passphrase-protected key.
func parseKey(data []byte, path string) (key crypto.Signer, encrypted bool, err error) {
	rest := data
	var types []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		types = append(types, b.Type)
		if b.Type == "ENCRYPTED PRIVATE KEY" || (strings.HasSuffix(b.Type, "PRIVATE KEY") && b.Headers["Proc-Type"] == "4,ENCRYPTED") {
			return nil, true, nil
		}
		var k any
		var perr error
		switch b.Type {
		case "PRIVATE KEY":
			k, perr = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, perr = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, perr = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if perr != nil {
			return nil, false, &InputError{Path: path, Err: perr, Reason: fmt.Sprintf("the %s block cannot be parsed: %v", b.Type, perr),
				Fix: "the key file is damaged; restore it from the machine where the key was generated"}
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, false, &InputError{Path: path, Reason: fmt.Sprintf("unsupported private key type %T", k)}
		}
		return s, false, nil
	}
	if len(types) == 0 {
		if bytes.Contains(data, []byte("-----BEGIN")) {
			return nil, false, &InputError{Path: path, Reason: "the PEM data is damaged", Fix: "restore the key file"}
		}
		return nil, false, &InputError{Path: path, Reason: "no PEM data found", Fix: "give the PEM private key file (\"-----BEGIN PRIVATE KEY-----\")"}
	}
	return nil, false, &InputError{Path: path, Reason: "no private key found, only " + strings.Join(types, ", "),
		Fix: "give the private key file; the certificate goes in --cert"}
}
