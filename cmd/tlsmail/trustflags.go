package main

import (
	"github.com/spf13/pflag"
)

// registerTrustFlags declares the flags that say how a server's
// certificate is verified, --ca, --pin and --revocation, with the same
// names and help on every command that verifies one (send, probe, cert
// verify, cert check). They fill the command's own fields. defRevocation
// is --revocation's default: "" on send, where a configuration file's
// tls_revocation applies when the flag is not given; "soft" elsewhere. Both
// mean trust's default, soft.
func registerTrustFlags(fs *pflag.FlagSet, ca *string, pins *[]string, revocation *string, defRevocation string) {
	fs.StringVar(ca, "ca", "", "trust only the CA certificates in PEM `FILE` (replaces the system roots)")
	fs.StringArrayVar(pins, "pin", nil, "require a certificate in the chain whose key matches `sha256/BASE64` (SPKI pin, repeatable)")
	fs.StringVar(revocation, "revocation", defRevocation, "revocation checking `MODE`: off, soft (unknown status is a warning; the default) or strict (unknown is an error)")
}
