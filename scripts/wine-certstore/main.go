//go:build windows

// Command wine-certstore puts a client certificate into the current user's
// Windows certificate store and takes it out again, for
// scripts/wine-e2e.sh (tlsmail.exe send --cert-store under Wine). It is a
// Windows program; the script runs it with scripts/wine-exec.
//
//	wine-certstore add CERT.pem KEY.pem    # prints the thumbprint
//	wine-certstore remove THUMBPRINT
//	wine-certstore add-root CA.pem         # prints the thumbprint
//	wine-certstore remove-root THUMBPRINT
//
// The key goes into a CryptoAPI key container of its own; remove deletes
// the certificate and that container (schannel.AddToStore and
// schannel.RemoveFromStore). add-root puts a CA certificate into
// CurrentUser\Root of the Wine prefix, so that Schannel's system trust (no
// --ca) verifies a chain up to it; remove-root takes it out again. (On
// Windows itself adding to that store asks the user first: this is for
// Wine.)
package main

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"

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
	case len(args) == 2 && args[0] == "add-root":
		tp, err := addRoot(args[1])
		if err != nil {
			return err
		}
		fmt.Println(tp)
		return nil
	case len(args) == 2 && args[0] == "remove-root":
		return schannel.RemoveFromStore(schannel.StoreCert{Store: "Root", Thumbprint: args[1]})
	}
	return fmt.Errorf("usage: wine-certstore add CERT.pem KEY.pem | remove THUMBPRINT | add-root CA.pem | remove-root THUMBPRINT")
}

// addRoot adds the first certificate of the PEM file to the current user's
// Root registry store and returns its thumbprint (SHA-1, upper-case hex).
func addRoot(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s: no PEM certificate", file)
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		return "", fmt.Errorf("%s: %v", file, err)
	}
	name, _ := windows.UTF16PtrFromString("Root")
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_REGISTRY, 0, 0,
		windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return "", fmt.Errorf("opening CurrentUser\\Root: %v", err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &b.Bytes[0], uint32(len(b.Bytes)))
	if err == nil {
		err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
		windows.CertFreeCertificateContext(ctx)
	}
	// Wine writes a registry store out when the handle that changed it is
	// closed.
	if cerr := windows.CertCloseStore(h, 0); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("adding %s to CurrentUser\\Root: %v", file, err)
	}
	sum := sha1.Sum(b.Bytes)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}
