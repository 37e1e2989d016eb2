package main

import (
	"path/filepath"
	"strings"

	"github.com/tlsmail/tlsmail/submit"
)

// accountFor turns a checked plan into the account its outbox item is
// delivered with. Relative file names become absolute (a queue runner may
// start elsewhere), and the password becomes a reference to its source:
// the spool never holds a secret.
func accountFor(o *sendOptions, p *sendPlan) (submit.Account, error) {
	a := p.acct
	a.Client.PFXPassword.Name = "" // not stored
	a.AbsPaths()
	if o.user == "" {
		return a, nil
	}
	a.Auth.User = o.user
	a.Auth.Mechanism = strings.ToUpper(o.auth)
	if a.Auth.Mechanism == "" {
		a.Auth.Mechanism = "AUTO"
	}
	switch {
	case o.cfg.password:
		if a.ConfigFile == "" {
			return a, configErrorf("the password comes from a configuration file tlsmail cannot name again")
		}
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretConfig, Ref: o.cfg.account}
	case o.cfg.netrc && a.ConfigFile != "":
		// The account is read again at delivery (submit.FromConfig): a
		// password or passwordeval added to it by then is used, else the
		// netrc entry.
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretConfig, Ref: o.cfg.account}
	case o.cfg.netrc:
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretNetrc}
	case o.password.literal == "" && o.password.count() == 1:
		// A password file is made absolute by submit.Enqueue
		// (Account.AbsPaths).
		a.Auth.Secret, _ = o.password.ref()
		a.Auth.Secret.Name = "" // not stored
	default:
		// A literal password the outbox cannot refer to (the demo's).
		return a, usageErrorf("this password cannot be queued: it has no source to read it from again").
			withFix("use --password-env, --password-file or --password-cmd, or a configuration account")
	}
	return a, nil
}

// connector is the submit.Connector of this command line: its TLS
// providers, its environment, and its dialer (which knows the special
// names of tests and the demo).
func (e *env) connector() *submit.Connector {
	return &submit.Connector{Providers: e.providers, Getenv: e.getenv, DialContext: dialSpecialNames}
}

// outcomeOf is what a queued item's delivery learnt, for rendering.
func outcomeOf(s *submit.Sent) *outcome {
	return &outcome{addr: s.Addr, mode: s.Mode, tlsName: s.TLSName, tls: s.TLS, authMech: s.AuthMech, result: s.Result}
}

// absPath makes p absolute ("" stays "").
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
