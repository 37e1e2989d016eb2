//go:build windows

// Command wine-certstore puts a client certificate into the current user's
// Windows certificate store and takes it out again, for
// scripts/wine-e2e.sh (tlsmail.exe send --cert-store under Wine). It is a
// Windows program; the script runs it with scripts/wine-exec.
//
//	wine-certstore add CERT.pem KEY.pem    # prints the thumbprint
//	wine-certstore remove THUMBPRINT
//	wine-certstore add-root CA.pem         # CurrentUser\Root; prints the thumbprint
//	wine-certstore remove-root THUMBPRINT
//
// The key goes into a CryptoAPI key container of its own; remove deletes
// the certificate and that container (schannel.AddToStore and
// schannel.RemoveFromStore).
package main

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"runtime"
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
	case len(args) == 2 && args[0] == "purge-ca":
		n, err := purgeCA(args[1])
		fmt.Println(n)
		return err
	}
	return fmt.Errorf("usage: wine-certstore add CERT.pem KEY.pem | remove THUMBPRINT | add-root CA.pem | remove-root THUMBPRINT | purge-ca CN-PREFIX")
}

// addRoot puts the first certificate of the PEM file into CurrentUser\Root
// and returns its thumbprint. Under Wine this makes it a root that system
// trust accepts (Wine's default chain engine reads CurrentUser\Root); on
// Windows the same call asks the user to confirm.
func addRoot(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s: no PEM certificate", file)
	}
	name, _ := windows.UTF16PtrFromString("Root")
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return "", fmt.Errorf("opening CurrentUser\\Root: %w", err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &b.Bytes[0], uint32(len(b.Bytes)))
	if err != nil {
		windows.CertCloseStore(h, 0)
		return "", fmt.Errorf("%s: %w", file, err)
	}
	err = windows.CertAddCertificateContextToStore(h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil)
	windows.CertFreeCertificateContext(ctx)
	// Closed before returning: Wine writes a registry store out on close.
	if cerr := windows.CertCloseStore(h, 0); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("adding to CurrentUser\\Root: %w", err)
	}
	sum := sha1.Sum(b.Bytes)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// purgeCA deletes from CurrentUser\CA every certificate whose subject's
// common name starts with prefix, and returns how many went. tlsmail adds
// the intermediates of a --cert file there (as .NET does) and leaves them;
// the test PKI makes a new key under the same names on every run, and
// Wine's chain builder, unlike Windows', takes the first intermediate with
// the right subject and does not try another when its signature fails.
func purgeCA(prefix string) (int, error) {
	name, _ := windows.UTF16PtrFromString("CA")
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
	runtime.KeepAlive(name)
	if err != nil {
		return 0, fmt.Errorf("opening CurrentUser\\CA: %w", err)
	}
	var doomed []*windows.CertContext
	var prev *windows.CertContext
	for {
		cur, err := windows.CertEnumCertificatesInStore(h, prev)
		if err != nil || cur == nil {
			break
		}
		prev = cur
		if c, err := x509.ParseCertificate(unsafe.Slice(cur.EncodedCert, cur.Length)); err == nil && strings.HasPrefix(c.Subject.CommonName, prefix) {
			doomed = append(doomed, windows.CertDuplicateCertificateContext(cur))
		}
	}
	n := 0
	for _, c := range doomed {
		if err := windows.CertDeleteCertificateFromStore(c); err == nil { // frees c
			n++
		}
	}
	// Closed before returning: Wine writes a registry store out on close.
	if err := windows.CertCloseStore(h, 0); err != nil {
		return n, err
	}
	return n, nil
}
