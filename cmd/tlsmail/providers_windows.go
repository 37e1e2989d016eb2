//go:build windows

package main

import (
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// registerPlatformProviders adds Windows' own TLS stack, Schannel
// (--tls-provider schannel). crypto/tls ("go") stays the default.
func registerPlatformProviders(r *secchan.Registry) {
	r.Register(schannel.Provider{})
}
