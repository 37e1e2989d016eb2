// Command tlsfloor links what any Go SMTP-over-TLS client must (net,
// crypto/tls, crypto/x509) and does nothing. bench/run.sh times it as the
// start-up floor of such a client on the machine: the Go runtime, loading
// the binary and the initialisers of those packages, before any work.
package main

import (
	_ "crypto/tls"
	_ "crypto/x509"
	_ "net"
)

func main() {}
