//go:build !windows

package main

import (
	"github.com/spf13/pflag"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/submit"
)

// registerPlatformProviders adds the providers of this operating system:
// none besides crypto/tls here.
func registerPlatformProviders(r *secchan.Registry) {}

// platformSendFlags adds send's flags of this operating system: none here
// (the certificate-store flags are Windows-only). The returned function
// leaves the provider as it is, and the identity is empty.
func platformSendFlags(fs *pflag.FlagSet) (func(secchan.Provider, *secchan.Config) (secchan.Provider, error), func() submit.ClientIdentity) {
	return keepProvider, func() submit.ClientIdentity { return submit.ClientIdentity{} }
}

func keepProvider(p secchan.Provider, _ *secchan.Config) (secchan.Provider, error) { return p, nil }

// platformConfigError reports whether err is a configuration problem only
// this operating system's provider knows of: none here.
func platformConfigError(err error) (msg, fix string, ok bool) { return "", "", false }
