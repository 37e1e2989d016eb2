package main

import (
	"errors"

	"github.com/tlsmail/tlsmail/secchan/schannel"
	"github.com/tlsmail/tlsmail/submit"
)

// Settings only Windows has flags for: the PFX file's password.
const (
	setPFXPasswordEnv  setting = "pfx-password-env"
	setPFXPasswordFile setting = "pfx-password-file"
)

// platformFlagHints is the Windows rows of the flag-hint table, looked up
// before flagHints: the client certificate also comes from --pfx or the
// certificate store.
func platformFlagHints() []flagHint {
	return []flagHint{
		{"send", setClientCert, "--cert FILE and --key FILE, --pfx FILE, or --cert-store with --cert-thumbprint or --cert-subject"},
		{"send", setPFX, "--pfx FILE with --pfx-password-env or --pfx-password-file, or --cert FILE and --key FILE"},
		{"send", setCertStore, "--cert-store, --cert-thumbprint or --cert-subject"},
		{"send", setPFXPasswordEnv, "--pfx-password-env VAR"},
		{"send", setPFXPasswordFile, "--pfx-password-file FILE"},
	}
}

// platformSecretSettings is the setting for a source of the PFX password.
func platformSecretSettings(src submit.SecretSource) []setting {
	switch src {
	case submit.SecretEnv:
		return []setting{setPFXPasswordEnv}
	case submit.SecretFile:
		return []setting{setPFXPasswordFile}
	}
	return nil
}

// platformSettings is what the fix of a schannel.CertError asks to change.
func platformSettings(err error) []setting {
	var ce *schannel.CertError
	if !errors.As(err, &ce) {
		return nil
	}
	return certErrorSettings(ce.Where)
}
