//go:build !windows

package main

import (
	"github.com/spf13/pflag"

	"github.com/tlsmail/tlsmail/secchan"
)

// registerPlatformProviders adds the providers of this operating system:
// none besides crypto/tls here.
func registerPlatformProviders(r *secchan.Registry) {}

// platformSendFlags adds send's flags of this operating system: none here
// (the certificate-store flags are Windows-only). The returned function
// leaves the provider as it is.
func platformSendFlags(fs *pflag.FlagSet) func(secchan.Provider, *secchan.Config) (secchan.Provider, error) {
	return func(p secchan.Provider, _ *secchan.Config) (secchan.Provider, error) { return p, nil }
}

// platformConfigError reports whether err is a configuration problem only
// this operating system's provider knows of: none here.
func platformConfigError(err error) (msg, fix string, ok bool) { return "", "", false }
