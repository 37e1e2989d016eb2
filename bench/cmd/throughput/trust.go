package main

import (
	"crypto/x509"

	"github.com/tlsmail/tlsmail/trust"
)

func trustRoots(pool *x509.CertPool) trust.Options { return trust.Options{Roots: pool} }
