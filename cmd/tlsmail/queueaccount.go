package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// accountFor turns a checked plan into the account its outbox item is
// delivered with. Relative file names become absolute (a queue runner may
// start elsewhere), and the password becomes a reference to its source:
// the spool never holds a secret.
func accountFor(o *sendOptions, p *sendPlan) (submit.Account, error) {
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return submit.Account{}, usageErrorf("--server %q: %v", o.server, err)
	}
	n, _ := strconv.Atoi(port)
	a := submit.Account{
		ConfigFile: o.cfg.file,
		Name:       o.cfg.account,
		Host:       host,
		Port:       n,
		Mode:       p.cfg.Mode,
		Trust: submit.Trust{CAFile: o.ca, Pins: o.pins, Insecure: o.insecure, ServerName: o.tlsName,
			Revocation: o.revocation},
		Client:    submit.ClientIdentity{CertFile: o.cert, KeyFile: o.key},
		Provider:  o.provider,
		LocalName: o.ehlo,
		Timeout:   o.timeout,
	}
	if o.platformID != nil {
		// The Windows certificate store or PFX file of --cert-store,
		// --cert-thumbprint, --cert-subject and --pfx.
		id := o.platformID()
		a.Client.Store, a.Client.Thumbprint, a.Client.Subject = id.Store, id.Thumbprint, id.Subject
		a.Client.PFXFile, a.Client.PFXPassword = id.PFXFile, id.PFXPassword
	}
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
	case o.password.env != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretEnv, Ref: o.password.env}
	case o.password.file != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretFile, Ref: absPath(o.password.file)}
	case o.password.cmd != "":
		a.Auth.Secret = submit.SecretRef{Source: submit.SecretCommand, Ref: o.password.cmd}
	default:
		// A literal password the outbox cannot refer to (the demo's).
		return a, usageErrorf("this password cannot be queued: it has no source to read it from again").
			withFix("use --password-env, --password-file or --password-cmd, or a configuration account")
	}
	return a, nil
}

// optionsFromAccount rebuilds the send flags of a queued item, so that
// planConnection checks and resolves them exactly as for `send`. The
// password source is taken from a.Auth.Secret; for a configuration account
// the file is read again when the password is needed.
func optionsFromAccount(ctx context.Context, e *env, a submit.Account) (*sendOptions, error) {
	o := &sendOptions{
		server:     a.Addr(),
		tlsMode:    string(a.Mode),
		pins:       a.Trust.Pins,
		insecure:   a.Trust.Insecure,
		tlsName:    a.Trust.ServerName,
		ca:         a.Trust.CAFile,
		cert:       a.Client.CertFile,
		key:        a.Client.KeyFile,
		provider:   a.Provider,
		revocation: a.Trust.Revocation,
		ehlo:       a.LocalName,
		timeout:    a.Timeout,
		auth:       "auto",
	}
	platform, err := platformFromIdentity(a.Client)
	if err != nil {
		return nil, err
	}
	o.platform = platform
	if o.provider == "" {
		o.provider = defaultProvider
	}
	if o.timeout <= 0 {
		o.timeout = smtp.DefaultTimeout
	}
	if a.Trust.Fingerprint != "" {
		return nil, configErrorf("the queued item pins a certificate fingerprint, which tlsmail does not support").
			withFix("remove the item with 'tlsmail queue remove ID' and send it again with tls_pin")
	}
	if a.Auth.User == "" {
		return o, nil
	}
	o.user = a.Auth.User
	if m := strings.ToLower(a.Auth.Mechanism); m != "" && m != "auto" {
		o.auth, o.authSet = a.Auth.Mechanism, true
	}
	switch a.Auth.Secret.Source {
	case submit.SecretEnv:
		o.password.env = a.Auth.Secret.Ref
	case submit.SecretFile:
		o.password.file = a.Auth.Secret.Ref
	case submit.SecretCommand:
		o.password.cmd = a.Auth.Secret.Ref
	case submit.SecretConfig:
		c := &submit.Connector{Getenv: e.getenv}
		o.password.fromAccount = func(ctx context.Context) (string, error) { return c.Secret(ctx, &a, a.Auth.Secret) }
	default:
		return nil, configErrorf("the queued item authenticates as %s but names no password source (%q)", a.Auth.User, a.Auth.Secret.Source).
			withFix("remove it with 'tlsmail queue remove ID' and send it again")
	}
	return o, nil
}

// newDeliverer returns the outbox deliverer of `queue run` and `send
// --queue`: submit's, with the command line's checks (planConnection, so
// that a queued message is sent exactly as `send` would send it), its
// password sources and its fix texts. sent, if set, is told each item's
// outcome.
func newDeliverer(e *env, tw io.Writer, sent func(it *outbox.Item, out *outcome, err error)) *submit.Deliverer {
	d := &submit.Deliverer{
		Transcript: tw,
		Connect: func(ctx context.Context, a *submit.Account) (*submit.Plan, error) {
			o, err := optionsFromAccount(ctx, e, *a)
			if err != nil {
				return nil, err
			}
			p, err := planConnection(e, o)
			if err != nil {
				return nil, err
			}
			sp := &submit.Plan{Addr: p.addr, Config: p.cfg}
			if o.user != "" {
				sp.Authenticate = func(ctx context.Context) error {
					if err := p.authenticate(ctx, e, o); err != nil {
						return err
					}
					sp.Config.Auth = p.cfg.Auth
					return nil
				}
			}
			return sp, nil
		},
		DialError: func(err error, p *submit.Plan) error { return hintMode(err, p.Config.Mode, p.Addr) },
	}
	if sent != nil {
		d.Sent = func(it *outbox.Item, s *submit.Sent) {
			sent(it, &outcome{addr: s.Addr, mode: s.Mode, tlsName: s.TLSName, tls: s.TLS, authMech: s.AuthMech, result: s.Result}, s.Err)
		}
	}
	return d
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
