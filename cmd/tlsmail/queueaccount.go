package main

import "github.com/tlsmail/tlsmail/submit"

// accountFor is the account a checked plan's outbox item is delivered
// with: the plan's (buildAccount), its relative file names made absolute
// (a queue runner may start elsewhere) and its password a reference to a
// source that can be read again: the spool never holds a secret.
func accountFor(o *sendOptions, p *sendPlan) (submit.Account, error) {
	a := p.acct
	a.Client.PFXPassword.Name = "" // not stored
	a.AbsPaths()
	if a.Auth.User == "" {
		return a, nil
	}
	switch {
	case a.Auth.Secret.IsZero() && o.cfg.password:
		return a, configErrorf("the password comes from a configuration file tlsmail cannot name again")
	case a.Auth.Secret.IsZero():
		// A literal password the outbox cannot refer to (the demo's).
		return a, usageErrorf("this password cannot be queued: it has no source to read it from again").
			withFix("use --password-env, --password-file or --password-cmd, or a configuration account")
	}
	a.Auth.Secret.Name = "" // not stored
	return a, nil
}

// connector is the submit.Connector of this command line: its TLS
// providers, its environment, and its dialer (which knows the special
// names of tests and the demo).
func (e *env) connector() *submit.Connector {
	return &submit.Connector{Providers: e.providers, Getenv: e.getenv}
}

// outcomeOf is what a queued item's delivery learnt, for rendering.
func outcomeOf(s *submit.Sent) *outcome {
	return &outcome{addr: s.Addr, mode: s.Mode, tlsName: s.TLSName, tls: s.TLS, authMech: s.AuthMech, result: s.Result}
}
