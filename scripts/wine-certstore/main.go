//go:build windows

// Command wine-certstore puts a client certificate into the current user's
// Windows certificate store and takes it out again, for
// scripts/wine-e2e.sh (tlsmail.exe send --cert-store under Wine). It is a
// Windows program; the script runs it with scripts/wine-exec.
//
//	wine-certstore add CERT.pem KEY.pem    # prints the thumbprint
//	wine-certstore remove THUMBPRINT
//
// The key goes into a CryptoAPI key container of its own; remove deletes
// the certificate and that container (schannel.AddToStore and
// schannel.RemoveFromStore).
package main

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/tlsmail/tlsmail/secchan/schannel"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wine-certstore:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	store := schannel.StoreCert{Store: "MY"}
	switch {
	case len(args) == 3 && args[0] == "add":
		cert, err := tls.LoadX509KeyPair(args[1], args[2])
		if err != nil {
			return err
		}
		tp, err := schannel.AddToStore(store, cert)
		if err != nil {
			return err
		}
		fmt.Println(tp)
		return nil
	case len(args) == 2 && args[0] == "remove":
		store.Thumbprint = args[1]
		return schannel.RemoveFromStore(store)
	}
	return fmt.Errorf("usage: wine-certstore add CERT.pem KEY.pem | wine-certstore remove THUMBPRINT")
}
