package main

import (
	"strings"

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

// provider is the TLS provider named by --tls-provider, of probe and send
// alike; an unknown name is a usage error that lists this build's.
func (e *env) provider(name string) (secchan.Provider, error) {
	p, err := e.providers.Lookup(name)
	if err != nil {
		return nil, usageErrorf("unknown --tls-provider %q", name).wrapping(err).
			withFix("this build offers: " + strings.Join(e.providers.Names(), ", "))
	}
	return p, nil
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
