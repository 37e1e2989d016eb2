//go:build windows

package main

import "github.com/tlsmail/tlsmail/secchan"

// registerPlatformProviders adds the providers of this operating system.
// Schannel (secchan/schannel) is registered here once that package exists.
func registerPlatformProviders(r *secchan.Registry) {}
