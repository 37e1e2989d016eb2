//go:build windows

package main

import (
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/schannel"
)

// registerPlatformProviders adds Windows' own TLS stack, Schannel
// (--tls-provider schannel). crypto/tls ("go") stays the default. The
// provider resumes sessions for connections that share a SessionCache (the
// deliverer's, in a queue run).
func registerPlatformProviders(r *secchan.Registry) {
	r.Register(schannel.NewProvider())
}
