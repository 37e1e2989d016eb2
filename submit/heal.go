package submit

import (
	"errors"

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
