package submit

import (
	"errors"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Heals reports whether a delivery that failed with err may succeed later
// with nothing changed: a network failure, a timeout, a 4xx reply (a 454
// to AUTH included: temporary, RFC 4954 section 6), a revocation status
// that could not be learnt (a CRL or OCSP server out of reach). It is
// false for a failure that only a change of the account or of the server
// cures, even when Classify defers it so that the message waits for that
// change: a login refused for good (5xx, or no reply), a certificate that
// is not trusted, a server that offers no STARTTLS, settings that cannot
// work (*Error, *config.Error).
func Heals(err error) bool {
	var se *smtp.Error
	var te *trust.Error
	switch {
	case errors.As(err, &te):
		return onlyRevocationUnknown(te)
	case errors.As(err, &se):
		switch se.Kind {
		case smtp.KindAuth:
			return se.Reply != nil && se.Reply.Code/100 == 4
		case smtp.KindCertificate, smtp.KindStartTLSUnavailable, smtp.KindConfig:
			return false
		}
	}
	var ce *config.Error
	var sub *Error
	return !errors.As(err, &ce) && !errors.As(err, &sub)
}

// onlyRevocationUnknown reports whether every error of a certificate
// check is a revocation status that could not be learnt (a CRL or OCSP
// server out of reach, with hard revocation checking).
func onlyRevocationUnknown(te *trust.Error) bool {
	errs := te.Report.Errors()
	for _, p := range errs {
		if p.Kind != trust.KindRevocationUnknown {
			return false
		}
	}
	return len(errs) > 0
}

// untrustedFix is ConfigFix's text for a certificate that does not verify,
// whether the trust.Error or only its smtp.Error of KindCertificate comes.
const untrustedFix = "the server's certificate is not trusted; fix tls_trust_file (or the system's CA certificates), tls_fingerprint or tls_host_override"

// ConfigFix reports whether a delivery failed for a reason that retrying
// will not cure (Heals is false), and what to fix, in the words of the
// msmtp configuration file the account comes from (tls_trust_file,
// passwordeval, ~/.netrc, ...): what a program that delivers for such an
// account tells its user, as tlsmail's sendmail and its log lines do.
func ConfigFix(err error) (fix string, ok bool) {
	if Heals(err) {
		return "", false
	}
	var se *smtp.Error
	var te *trust.Error
	switch {
	case errors.As(err, &te):
		return untrustedFix, true
	case errors.As(err, &se):
		switch se.Kind {
		case smtp.KindAuth:
			return "the server refused the login; fix the account's user and password (password, passwordeval or ~/.netrc) or auth method", true
		case smtp.KindCertificate:
			return untrustedFix, true
		case smtp.KindStartTLSUnavailable:
			return "the server does not offer STARTTLS; fix the account's port or tls settings", true
		case smtp.KindConfig:
			if se.Fix != "" {
				// Its own words (a malformed token: what the password
				// source must print), not the generic line below.
				return se.Fix, true
			}
		}
	}
	var sub *Error
	if errors.As(err, &sub) && strings.HasPrefix(sub.Field, "netrc") {
		return sub.Fix, true // ~/.netrc: its own fix (chmod 600, the entry to add)
	}
	return "the account's settings cannot work; fix the configuration file", true
}
