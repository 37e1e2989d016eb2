//go:build windows

package main

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
	"github.com/tlsmail/tlsmail/submit"
)

// storeCertFlags are send's Windows-only flags that take the client
// certificate from a Windows certificate store, for Schannel.
type storeCertFlags struct {
	store, thumbprint, subject string

	pfx, pfxPasswordEnv, pfxPasswordFile string
}

// platformSendFlags adds send's Windows-only flags to fs and returns the
// function that applies them, once the provider and the TLS configuration
// are known: with --cert-store, --cert-thumbprint or --cert-subject the
// Schannel provider takes its client certificate from the store (the key
// is used in place, and may be non-exportable or on a smart card).
func platformSendFlags(fs *pflag.FlagSet) (func(secchan.Provider, *secchan.Config) (secchan.Provider, error), func() submit.ClientIdentity) {
	f := &storeCertFlags{}
	fs.StringVar(&f.store, "cert-store", "", "Windows certificate `STORE` of the client certificate, for --tls-provider schannel: MY (default), or LocalMachine\\MY")
	fs.StringVar(&f.thumbprint, "cert-thumbprint", "", "select the client certificate in --cert-store by its SHA-1 `HEX` thumbprint (as certmgr.msc shows it)")
	fs.StringVar(&f.subject, "cert-subject", "", "select the client certificate in --cert-store whose subject contains `TEXT`")
	fs.StringVar(&f.pfx, "pfx", "", "client certificate and key from a PKCS#12 `FILE` (.pfx, .p12; RSA key), decoded by Windows")
	fs.StringVar(&f.pfxPasswordEnv, "pfx-password-env", "", "read the --pfx password from the environment variable `VAR`")
	fs.StringVar(&f.pfxPasswordFile, "pfx-password-file", "", "read the --pfx password from the first line of `FILE`")
	return f.apply, f.identity
}

// identity is the client identity the flags name, for the outbox: the
// PFX password as a reference to its source, never the password.
func (f *storeCertFlags) identity() submit.ClientIdentity {
	id := submit.ClientIdentity{Store: f.store, Thumbprint: f.thumbprint, Subject: f.subject, PFXFile: f.pfx}
	switch {
	case f.pfxPasswordEnv != "":
		id.PFXPassword = submit.SecretRef{Source: submit.SecretEnv, Ref: f.pfxPasswordEnv}
	case f.pfxPasswordFile != "":
		id.PFXPassword = submit.SecretRef{Source: submit.SecretFile, Ref: f.pfxPasswordFile}
	}
	return id
}

// apply checks the flags' combinations (usage errors naming the flags)
// and has submit apply the identity: the store entry becomes the provider's
// client certificate, the PFX file cfg's.
func (f *storeCertFlags) apply(p secchan.Provider, cfg *secchan.Config) (secchan.Provider, error) {
	pfx := f.pfx != "" || f.pfxPasswordEnv != "" || f.pfxPasswordFile != ""
	store := f.store != "" || f.thumbprint != "" || f.subject != ""
	if pfx {
		switch {
		case f.pfx == "":
			return nil, usageErrorf("--pfx-password-env or --pfx-password-file was given without --pfx").withFix("add --pfx FILE")
		case f.pfxPasswordEnv != "" && f.pfxPasswordFile != "":
			return nil, usageErrorf("--pfx-password-env and --pfx-password-file were both given").withFix("give one of them")
		case store:
			return nil, usageErrorf("--pfx and a certificate store were both given").
				withFix("give one of --cert/--key, --pfx, or --cert-store with --cert-thumbprint or --cert-subject")
		case len(cfg.Certificates) > 0:
			return nil, usageErrorf("--cert and --pfx were both given").withFix("give the client certificate once: --cert/--key (PEM) or --pfx (PKCS#12)")
		}
	}
	if store {
		if err := f.checkStore(); err != nil {
			return nil, err
		}
		if _, ok := p.(schannel.Provider); !ok {
			return nil, usageErrorf("--cert-store, --cert-thumbprint and --cert-subject work with --tls-provider schannel only (not %q)", p.Name()).
				withFix("add --tls-provider schannel, or export the certificate and key to PEM files for --cert and --key")
		}
		if len(cfg.Certificates) > 0 {
			return nil, usageErrorf("--cert or --pfx and a certificate store were both given").
				withFix("give one of --cert/--key, --pfx, or --cert-store with --cert-thumbprint or --cert-subject")
		}
	}
	if !pfx && !store {
		return p, nil
	}
	prov, err := (&submit.Connector{}).ApplyIdentity(context.Background(), &submit.Account{Client: f.identity()}, p, cfg)
	var se *submit.Error
	if errors.As(err, &se) && se.Field == "secret_file_mode" {
		return nil, configErrorf("%s", se.Msg).wrapping(err).withFix("run: chmod 600 " + shellQuote(f.pfxPasswordFile))
	}
	if errors.As(err, &se) && se.Field == "secret" && f.pfxPasswordEnv != "" {
		return nil, configErrorf("the environment variable %s (from --pfx-password-env) is empty or not set", f.pfxPasswordEnv).
			withFix("export " + f.pfxPasswordEnv + " with the PFX password, or name another variable")
	}
	return prov, err
}

// checkStore checks the certificate-store flags.
func (f *storeCertFlags) checkStore() error {
	switch {
	case f.thumbprint == "" && f.subject == "":
		return usageErrorf("--cert-store needs --cert-thumbprint or --cert-subject to pick the certificate").
			withFix("list the store's certificates with 'certutil -user -store MY' and pass one's thumbprint with --cert-thumbprint")
	case f.thumbprint != "" && f.subject != "":
		return usageErrorf("--cert-thumbprint and --cert-subject were both given").withFix("give one of them")
	}
	if loc, name, ok := strings.Cut(f.store, `\`); ok {
		switch strings.ToLower(loc) {
		case "localmachine", "currentuser":
		default:
			return usageErrorf("--cert-store %q: the location must be CurrentUser or LocalMachine", f.store).
				withFix(`give a store name such as MY, or CurrentUser\MY or LocalMachine\MY`)
		}
		if name == "" {
			return usageErrorf("--cert-store %q names no store", f.store).withFix(`give e.g. LocalMachine\MY`)
		}
	}
	return nil
}

// platformConfigError reports whether err is a client certificate that
// Schannel cannot find or open (a *schannel.CertError: not in the store, a
// bad thumbprint, a private key this user may not read, an unreadable PFX
// file). That is the user's configuration, not a failure of the server:
// exit 78 with kind config; the message is the certificate error's (its
// fix on a line of its own).
func platformConfigError(err error) (msg, fix string, ok bool) {
	var ce *schannel.CertError
	if !errors.As(err, &ce) {
		return "", "", false
	}
	bare := *ce
	bare.Fix = ""
	return bare.Error(), ce.Fix, true
}
