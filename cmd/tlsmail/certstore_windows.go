//go:build windows

package main

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/tlsmail/tlsmail/secchan/schannel"
	"github.com/tlsmail/tlsmail/submit"
)

// storeCertFlags are send's Windows-only flags that take the client
// certificate from a Windows certificate store (for Schannel) or a PFX
// file decoded by Windows.
type storeCertFlags struct {
	store, thumbprint, subject string

	pfx, pfxPasswordEnv, pfxPasswordFile string
}

// platformSendFlags adds send's Windows-only flags to fs and returns the
// function that gives the client identity they name. submit checks it
// (Account.Check: one client certificate, a store entry picked by
// thumbprint or subject, the schannel provider) and applies it
// (Connector.Plan; the PFX password is read with the other secrets); the
// flag-hint table names these flags in its errors' fixes.
func platformSendFlags(fs *pflag.FlagSet) func() (submit.ClientIdentity, error) {
	f := &storeCertFlags{}
	fs.StringVar(&f.store, "cert-store", "", "Windows certificate `STORE` of the client certificate, for --tls-provider schannel: MY (default), or LocalMachine\\MY")
	fs.StringVar(&f.thumbprint, "cert-thumbprint", "", "select the client certificate in --cert-store by its SHA-1 `HEX` thumbprint (as certmgr.msc shows it)")
	fs.StringVar(&f.subject, "cert-subject", "", "select the client certificate in --cert-store whose subject contains `TEXT`")
	fs.StringVar(&f.pfx, "pfx", "", "client certificate and key from a PKCS#12 `FILE` (.pfx, .p12; RSA key), decoded by Windows")
	fs.StringVar(&f.pfxPasswordEnv, "pfx-password-env", "", "read the --pfx password from the environment variable `VAR`")
	fs.StringVar(&f.pfxPasswordFile, "pfx-password-file", "", "read the --pfx password from the first line of `FILE`")
	return f.identity
}

// identity is the client identity the flags name: the PFX password as a
// reference to its source, never the password. Two sources for the one
// password are a usage error; everything else is submit's to check.
func (f *storeCertFlags) identity() (submit.ClientIdentity, error) {
	id := submit.ClientIdentity{Store: f.store, Thumbprint: f.thumbprint, Subject: f.subject, PFXFile: f.pfx}
	switch {
	case f.pfxPasswordEnv != "" && f.pfxPasswordFile != "":
		return id, usageErrorf("--pfx-password-env and --pfx-password-file were both given").withFix("give one of them")
	case f.pfxPasswordEnv != "":
		id.PFXPassword = submit.SecretRef{Source: submit.SecretEnv, Ref: f.pfxPasswordEnv, Name: "--pfx-password-env"}
	case f.pfxPasswordFile != "":
		id.PFXPassword = submit.SecretRef{Source: submit.SecretFile, Ref: f.pfxPasswordFile, Name: "--pfx-password-file"}
	}
	return id, nil
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
