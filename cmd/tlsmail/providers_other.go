//go:build !windows

package main

import "github.com/tlsmail/tlsmail/secchan"

// registerPlatformProviders adds the providers of this operating system:
// none besides crypto/tls here.
func registerPlatformProviders(r *secchan.Registry) {}
