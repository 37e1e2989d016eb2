package main

import (
	"errors"

	"github.com/tlsmail/tlsmail/submit"
)

// accountFor is the account a checked plan's outbox item is delivered
// with: the plan's (buildAccount) as the outbox stores it
// (submit.Account.Stored: file names absolute, a configuration account's
// password a reference to the account). The spool never holds a secret, so
// a password with no source to read it from again cannot be queued.
//
// The item keeps the run's log settings (logConfig) too, so that the run
// that delivers it later writes msmtp's line to the same log (queuedLog);
// a log file "-" is this run's standard output, which no later run has.
func accountFor(o *sendOptions, p *sendPlan) (submit.Account, error) {
	a := p.acct.Stored()
	if lc := o.logConfig(); lc.Enabled() {
		a.Log = submit.Log{File: lc.File, TimeFormat: lc.TimeFormat, Syslog: lc.Syslog}
		if a.Log.File == "-" {
			a.Log.File = ""
		}
		if a.Log.IsZero() {
			a.Log = submit.Log{}
		}
		a.AbsPaths()
	}
	if a.Auth.User != "" && a.Auth.Secret.IsZero() {
		// A literal password the outbox cannot refer to (the demo's).
		return a, usageErrorf("this password cannot be queued: it has no source to read it from again").
			withFix("use --password-env, --password-file or --password-cmd, or a configuration account")
	}
	// The account as the outbox keeps it (a configuration account's
	// password needs the file to read it from again): Account.Check's
	// rules, before anything is queued.
	if err := a.Check(); err != nil {
		ce := configErrorf("%v", err).wrapping(err)
		var se *submit.Error
		if errors.As(err, &se) {
			ce.withFix(se.Fix)
		}
		return a, ce
	}
	return a, nil
}

// connector is the submit.Connector of this command line: its TLS
// providers, its environment, and its dialer (which knows the special
// names of tests and the demo).
func (e *env) connector() *submit.Connector {
	return &submit.Connector{Providers: e.providers, Getenv: e.getenv}
}
