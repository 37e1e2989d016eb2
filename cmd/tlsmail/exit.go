package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/sysexits"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// Exit codes, from sysexits(3) (internal/sysexits). They let a script or
// an MTA tell a failure worth retrying (75) from one that will not go away
// by itself. A delivery's failures get theirs from submit.ExitCode, the
// one mapping the log line's exitcode= uses too.
const (
	exitOK          = sysexits.OK
	exitUsage       = sysexits.Usage       // bad flags or input; nothing was sent
	exitRejected    = sysexits.DataErr     // the message was refused permanently (5xx)
	exitNoInput     = sysexits.NoInput     // an input file or the queued item named is missing or unreadable
	exitNoHost      = sysexits.NoHost      // the server's name does not resolve
	exitUnavailable = sysexits.Unavailable // the server refuses service (5xx greeting/EHLO)
	exitSoftware    = sysexits.Software    // an error tlsmail could not classify (a bug)
	exitIOErr       = sysexits.IOErr       // the output could not be written (queue show to a full disk)
	exitTempFail    = sysexits.TempFail    // 4xx, network, timeout, TLS and certificate failures
	exitProtocol    = sysexits.Protocol    // the server broke SMTP, or STARTTLS injection
	exitNoPerm      = sysexits.NoPerm      // authentication refused
	exitConfig      = sysexits.Config      // unusable configuration, files or credentials
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
		f.kind, f.code, f.message, f.fix = kindConfig, submit.ExitCode(err), msg, fix
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
		f.kind, f.code, f.fix = kindConfig, submit.ExitCode(err), cfgErr.Fix
		if bare := *cfgErr; err == error(cfgErr) {
			bare.Fix = "" // shown on its own line
			f.message = bare.Error()
		}
	case errors.As(err, &se):
		f.kind, f.fix = string(se.Kind), se.Fix
		f.code = submit.ExitCode(err)
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
		f.kind, f.code, f.fix = string(smtp.KindCertificate), submit.ExitCode(err), te.Fix()
	case errors.As(err, &subErr): // an account the library cannot use
		f.kind, f.code, f.fix = kindConfig, submit.ExitCode(err), subErr.Fix
	default:
		f.fix = "this is a bug in tlsmail; please report it with the command line (without secrets)"
	}
	return f
}
