package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// pinPrefix introduces an SPKI pin: the SHA-256 hash of the certificate's
// DER-encoded SubjectPublicKeyInfo, in standard base64 (RFC 7469, 2.4).
const pinPrefix = "sha256/"

// Pin is a SHA-256 hash of a SubjectPublicKeyInfo. Unlike a certificate
// fingerprint it survives renewals that keep the same key.
type Pin [sha256.Size]byte

// String returns the pin as "sha256/BASE64".
func (p Pin) String() string { return pinPrefix + base64.StdEncoding.EncodeToString(p[:]) }

// PinOf returns c's SPKI pin.
func PinOf(c *x509.Certificate) Pin { return sha256.Sum256(c.RawSubjectPublicKeyInfo) }

// SPKIPin returns c's SPKI pin as "sha256/BASE64", the form Options.Pins
// and --pin take.
func SPKIPin(c *x509.Certificate) string { return PinOf(c).String() }

// PinError is a pin that cannot be parsed.
type PinError struct {
	Pin    string
	Reason string
}

func (e *PinError) Error() string {
	return fmt.Sprintf("invalid pin %q: %s; a pin is \"sha256/\" followed by the base64 SHA-256 of the SubjectPublicKeyInfo (RFC 7469, 2.4)", e.Pin, e.Reason)
}

// ParsePin parses "sha256/BASE64". It also accepts the HPKP form
// pin-sha256="BASE64" (RFC 7469, 2.1.1).
func ParsePin(s string) (Pin, error) {
	var p Pin
	in := strings.TrimSpace(s)
	b64 := ""
	switch {
	case strings.HasPrefix(in, pinPrefix):
		b64 = in[len(pinPrefix):]
	case strings.HasPrefix(in, "pin-sha256="):
		b64 = strings.Trim(in[len("pin-sha256="):], `"`)
	case strings.Contains(in, "/"):
		return p, &PinError{Pin: s, Reason: fmt.Sprintf("unsupported hash %q (only sha256 is used)", in[:strings.Index(in, "/")])}
	default:
		return p, &PinError{Pin: s, Reason: "missing the \"sha256/\" prefix"}
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return p, &PinError{Pin: s, Reason: "the hash is not valid base64"}
	}
	if len(raw) != sha256.Size {
		return p, &PinError{Pin: s, Reason: fmt.Sprintf("the hash is %d bytes, a SHA-256 hash is %d", len(raw), sha256.Size)}
	}
	copy(p[:], raw)
	return p, nil
}

// ParsePins parses every pin, failing on the first invalid one.
func ParsePins(ss []string) ([]Pin, error) {
	out := make([]Pin, 0, len(ss))
	for _, s := range ss {
		p, err := ParsePin(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPins: a pin that matches no certificate in the path is an error even
// when the chain verifies (RFC 7469, 2.6).
func (v *verifier) checkPins() {
	if len(v.opts.Pins) == 0 {
		return
	}
	pins, err := ParsePins(v.opts.Pins)
	if err != nil {
		v.add(KindPinMismatch, SeverityError, -1, err.Error(), "correct the pin; copy it from the server's certificate report")
		return
	}
	// Only keys on the path count: each certificate of it is signed by the
	// next (verified by crypto/x509, or by buildPath when the chain is not
	// trusted). Any other certificate the server sent proves nothing: the
	// pinned certificate is public, and an interceptor can send it along
	// with its own leaf.
	var have []string
	for _, i := range v.path {
		c := v.certs[i]
		if c == nil {
			continue
		}
		got := PinOf(c)
		for _, p := range pins {
			if p == got {
				return
			}
		}
		have = append(have, fmt.Sprintf("%d %s", i, got))
	}
	v.add(KindPinMismatch, SeverityError, 0,
		fmt.Sprintf("no key in the chain matches the pinned %s; the chain's keys are: %s", strings.Join(v.opts.Pins, ", "), strings.Join(have, "; ")),
		fmt.Sprintf("if the server's key was changed on purpose, update the pin to the new key (%s); otherwise the connection may be intercepted: do not send", SPKIPin(v.certs[0])))
}
