package submit

import (
	"errors"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/sysexits"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// ExitCode is the sysexits(3) code of a failed delivery, as msmtp gives
// it (its log line's exitcode=, tlsmail's exit status): 78 EX_CONFIG for
// an account that cannot be used (a *config.Error, an *Error, a client
// certificate the operating system cannot find), the SMTP client's code
// for an *smtp.Error (SMTPExitCode), 75 EX_TEMPFAIL for a certificate the
// server's chain fails (a *trust.Error), 70 EX_SOFTWARE for anything else
// (a bug); 0 for nil. tlsmail's command line takes its exit codes for
// these errors from here.
func ExitCode(err error) int {
	if err == nil {
		return sysexits.OK
	}
	var (
		cfgErr *config.Error
		se     *smtp.Error
		te     *trust.Error
		subErr *Error
		ie     *message.InputError
	)
	_, platform := platformConfigText(err)
	switch {
	case platform:
		return sysexits.Config
	case errors.As(err, &cfgErr):
		return sysexits.Config
	case errors.As(err, &se):
		return SMTPExitCode(se)
	case errors.As(err, &te):
		return sysexits.TempFail
	case errors.As(err, &subErr):
		return sysexits.Config
	case errors.As(err, &ie):
		// A message that cannot be sent as given: the command line's
		// code for it too (nothing was sent).
		return sysexits.Usage
	}
	return sysexits.Software
}

// SMTPExitCode maps an SMTP client error to its sysexits(3) code. A 4xx
// reply is always temporary (75), whatever step it answered (RFC 5321
// section 4.2.1).
func SMTPExitCode(e *smtp.Error) int {
	if e.Reply != nil && e.Reply.Code/100 == 4 {
		return sysexits.TempFail
	}
	switch e.Kind {
	case smtp.KindUsage:
		return sysexits.Usage
	case smtp.KindConfig:
		return sysexits.Config
	case smtp.KindNetwork:
		if e.HostNotFound() {
			return sysexits.NoHost
		}
		return sysexits.TempFail
	case smtp.KindTimeout, smtp.KindTLSHandshake, smtp.KindCertificate, smtp.KindStartTLSUnavailable:
		return sysexits.TempFail
	case smtp.KindStartTLSInjection, smtp.KindProtocol:
		return sysexits.Protocol
	case smtp.KindAuth:
		return sysexits.NoPerm
	case smtp.KindRejected:
		return sysexits.DataErr
	case smtp.KindUnavailable:
		return sysexits.Unavailable
	}
	if e.Temporary() {
		return sysexits.TempFail
	}
	return sysexits.Software
}

// errorText is err's message for a log line: an error that carries its
// fix (a *config.Error, an input error, a client certificate the system
// cannot open) without it, as tlsmail prints the fix on a line of its own.
func errorText(err error) string {
	if msg, ok := platformConfigText(err); ok {
		return msg
	}
	if ce, ok := err.(*config.Error); ok {
		bare := *ce
		bare.Fix = ""
		return bare.Error()
	}
	var ie *message.InputError
	if errors.As(err, &ie) {
		return strings.TrimSuffix(err.Error(), "; "+ie.Fix)
	}
	return err.Error()
}
