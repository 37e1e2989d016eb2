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
// (the certificate-store and PFX flags are Windows-only). The identity
// they name is empty.
func platformSendFlags(fs *pflag.FlagSet) func() (submit.ClientIdentity, error) {
	return func() (submit.ClientIdentity, error) { return submit.ClientIdentity{}, nil }
}

// platformConfigError reports whether err is a configuration problem only
// this operating system's provider knows of: none here.
func platformConfigError(err error) (msg, fix string, ok bool) { return "", "", false }
