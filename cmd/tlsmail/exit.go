package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// Exit codes, from sysexits(3). They let a script or an MTA tell a failure
// worth retrying (75) from one that will not go away by itself.
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE: bad flags or input; nothing was sent
	exitRejected    = 65 // EX_DATAERR: the message was refused permanently (5xx)
	exitNoHost      = 68 // EX_NOHOST: the server's name does not resolve
	exitUnavailable = 69 // EX_UNAVAILABLE: the server refuses service (5xx greeting/EHLO)
	exitSoftware    = 70 // EX_SOFTWARE: an error tlsmail could not classify (a bug)
	exitTempFail    = 75 // EX_TEMPFAIL: 4xx, network, timeout, TLS and certificate failures
	exitProtocol    = 76 // EX_PROTOCOL: the server broke SMTP, or STARTTLS injection
	exitNoPerm      = 77 // EX_NOPERM: authentication refused
	exitConfig      = 78 // EX_CONFIG: unusable configuration, files or credentials
)

// JSON error kinds that are not smtp.Kind values.
const (
	kindUsage    = string(smtp.KindUsage)
	kindConfig   = string(smtp.KindConfig)
	kindInternal = "internal"
)

// cliError is a failure found by the command itself, before or around the
// SMTP session: a usage error (64) or a configuration error (78).
type cliError struct {
	kind string // kindUsage or kindConfig
	msg  string
	fix  string
	err  error
}

func (e *cliError) Error() string {
	if e.err != nil && e.msg == "" {
		return e.err.Error()
	}
	return e.msg
}

func (e *cliError) Unwrap() error { return e.err }

// withFix sets what the user should do and returns e.
func (e *cliError) withFix(fix string) *cliError { e.fix = fix; return e }

// wrapping records the underlying cause and returns e.
func (e *cliError) wrapping(err error) *cliError { e.err = err; return e }

func usageErrorf(format string, args ...any) *cliError {
	return &cliError{kind: kindUsage, msg: fmt.Sprintf(format, args...)}
}

func configErrorf(format string, args ...any) *cliError {
	return &cliError{kind: kindConfig, msg: fmt.Sprintf(format, args...)}
}

// failure is an error reduced to what the user sees: the exit code, the
// JSON kind, the message, the fix and any certificate problems.
type failure struct {
	code     int
	kind     string
	message  string
	fix      string
	problems []trust.Problem
	// err is the error classified; flaghints.go reads it to add the
	// flags of the command to the fix.
	err error
	// stderr is the start of a failed command's standard error (a
	// password command's, config.CommandError): printed on the terminal
	// only, never in JSON, the log line or the outbox (it may hold
	// secrets).
	stderr string
}

// classify maps err to its exit code and JSON kind. Every error a command
// returns passes through here, so this is the one place the table lives.
func classify(err error) failure {
	f := failure{code: exitSoftware, kind: kindInternal, message: err.Error(), err: err}
	var cmdErr *config.CommandError
	if errors.As(err, &cmdErr) {
		f.stderr = cmdErr.Stderr
	}
	var te *trust.Error
	if errors.As(err, &te) {
		f.problems = te.Report.Problems
	}

	// A client certificate of the operating system's store that cannot be
	// found or opened (Windows: schannel.CertError) is configuration (78),
	// even though it surfaces during the TLS handshake.
	if msg, fix, ok := platformConfigError(err); ok {
		f.kind, f.code, f.message, f.fix = kindConfig, exitConfig, msg, fix
		return f
	}

	var ce *cliError
	var se *smtp.Error
	var ie *message.InputError
	var srcErr *message.SourceError
	var svErr *server.Error
	var cfgErr *config.Error
	var xe *exitError
	var subErr *submit.Error
	switch {
	case errors.As(err, &xe): // probe, cert verify, cert check (cert.go)
		f.kind, f.code, f.fix = xe.kind, xe.code, xe.fix
	case errors.As(err, &ce):
		f.kind, f.fix = ce.kind, ce.fix
		f.code = exitUsage
		if ce.kind == kindConfig {
			f.code = exitConfig
		}
	case errors.As(err, &cfgErr):
		f.kind, f.code, f.fix = kindConfig, exitConfig, cfgErr.Fix
		if bare := *cfgErr; err == error(cfgErr) {
			bare.Fix = "" // shown on its own line
			f.message = bare.Error()
		}
	case errors.As(err, &se):
		f.kind, f.fix = string(se.Kind), se.Fix
		f.code = smtpExitCode(se)
		if se.Kind == smtp.KindUsage && f.fix == "" {
			f.fix = "check the addresses and the message; nothing was sent"
		}
	case errors.As(err, &ie):
		f.kind, f.code, f.fix = kindUsage, exitUsage, ie.Fix
		f.message = strings.TrimSuffix(f.message, "; "+ie.Fix) // the fix is printed on its own line
	case errors.As(err, &srcErr):
		f.kind, f.code = kindUsage, exitUsage
		f.fix = "check the file; the message was not delivered"
	case errors.As(err, &svErr):
		f.fix = svErr.Fix
		if svErr.Op == "config" {
			f.kind, f.code = kindConfig, exitConfig
		} else {
			f.kind, f.code = string(smtp.KindUnavailable), exitUnavailable
		}
	case te != nil:
		f.kind, f.code, f.fix = string(smtp.KindCertificate), exitTempFail, te.Fix()
	case errors.As(err, &subErr): // an account the library cannot use
		f.kind, f.code, f.fix = kindConfig, exitConfig, subErr.Fix
	default:
		f.fix = "this is a bug in tlsmail; please report it with the command line (without secrets)"
	}
	return f
}

// smtpExitCode maps an SMTP client error to its exit code. A 4xx reply is
// always temporary (75), whatever step it answered.
func smtpExitCode(e *smtp.Error) int {
	if e.Reply != nil && e.Reply.Code/100 == 4 {
		return exitTempFail
	}
	switch e.Kind {
	case smtp.KindUsage:
		return exitUsage
	case smtp.KindConfig:
		return exitConfig
	case smtp.KindNetwork:
		if e.HostNotFound() {
			return exitNoHost
		}
		return exitTempFail
	case smtp.KindTimeout, smtp.KindTLSHandshake, smtp.KindCertificate, smtp.KindStartTLSUnavailable:
		return exitTempFail
	case smtp.KindStartTLSInjection, smtp.KindProtocol:
		return exitProtocol
	case smtp.KindAuth:
		return exitNoPerm
	case smtp.KindRejected:
		return exitRejected
	case smtp.KindUnavailable:
		return exitUnavailable
	}
	if e.Temporary() {
		return exitTempFail
	}
	return exitSoftware
}
