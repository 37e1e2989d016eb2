package main

import (
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/gotls"
)

// defaultProvider is the --tls-provider used when none is named.
const defaultProvider = "go"

// newProviders returns the TLS providers this build offers: crypto/tls
// everywhere, plus the operating system's where a platform file registers
// one (see registerPlatformProviders). It is built once in run and passed
// down; there is no package-level registry.
func newProviders() *secchan.Registry {
	r := &secchan.Registry{}
	r.Register(gotls.Provider{})
	registerPlatformProviders(r)
	return r
}

// closeIdleProviders frees what the providers keep between connections when
// a command ends: Schannel's shared credentials (kept for session
// resumption), and with them a client key kept in a key container for one,
// which would otherwise stay on disk until the next tlsmail sweeps it.
func closeIdleProviders(r *secchan.Registry) {
	for _, name := range r.Names() {
		p, err := r.Lookup(name)
		if err != nil {
			continue
		}
		if c, ok := p.(interface{ CloseIdleCredentials() }); ok {
			c.CloseIdleCredentials()
		}
	}
}
