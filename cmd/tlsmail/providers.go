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
