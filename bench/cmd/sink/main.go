// Command sink runs tlsmail's embedded SMTP server (package server) for the
// benchmarks in bench/run.sh: a plain listener with STARTTLS (RFC 3207) and
// an implicit-TLS listener (RFC 8314), AUTH PLAIN and LOGIN (RFC 4954) for
// one user, and a throwaway PKI whose root it writes to DIR/ca.pem.
//
// It also writes DIR/unrelated-ca.pem, a self-signed CA that signed nothing
// the server uses, so that the script can check that every client refuses a
// server it was told not to trust.
//
// On start it prints one line per fact ("smtp=ADDR", "smtps=ADDR",
// "ca=FILE", "unrelated_ca=FILE", "messages=DIR") and then "ready"; it runs
// until SIGINT or SIGTERM. Stored messages are DIR/messages/*.eml.
//
// With -revocation-delay the server's certificate is made the way a public
// CA makes one (realuse.go): its leaf and intermediate name CRL and OCSP
// URLs, served on loopback by this process after the given delay (a
// typical internet round trip); it then also prints "responder=URL"
// (GET URL/hits is the number of CRL and OCSP requests so far).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tlsmail/tlsmail/server"
)

func main() {
	dir := flag.String("dir", "", "directory for ca.pem and messages/ (required)")
	user := flag.String("user", "bench", "AUTH user name")
	passFile := flag.String("password-file", "", "file holding the AUTH password (required)")
	maxBytes := flag.Int64("max-bytes", 4<<30, "largest message accepted (SIZE)")
	revDelay := flag.Duration("revocation-delay", 0, "serve a certificate with CRL and OCSP URLs, answered after this delay (0: a throwaway PKI without them)")
	flag.Parse()
	if err := run(*dir, *user, *passFile, *maxBytes, *revDelay); err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
}

func run(dir, user, passFile string, maxBytes int64, revDelay time.Duration) error {
	if dir == "" || passFile == "" {
		return fmt.Errorf("-dir and -password-file are required")
	}
	pw, err := os.ReadFile(passFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ru *realUse
	if revDelay > 0 {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if ru, err = startRealUse(dir, revDelay); err != nil {
			return err
		}
		defer ru.Close()
	}
	cfg := server.Config{
		SMTPAddr:        "127.0.0.1:0",
		SMTPSAddr:       "127.0.0.1:0",
		Dir:             dir,
		Users:           map[string]string{user: string(trimNL(pw))},
		MaxMessageBytes: maxBytes,
		MaxSessions:     256,
	}
	if ru != nil {
		cfg.Certificate = &ru.cert
	}
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	unrelated := filepath.Join(srv.Dir(), "unrelated-ca.pem")
	if err := writeUnrelatedCA(unrelated); err != nil {
		return err
	}
	caFile := srv.CAFile()
	if ru != nil {
		caFile = ru.caFile
		fmt.Printf("responder=%s\n", ru.url)
	}
	fmt.Printf("smtp=%s\nsmtps=%s\nca=%s\nunrelated_ca=%s\nmessages=%s\nready\n",
		srv.SMTPAddr(), srv.SMTPSAddr(), caFile, unrelated, filepath.Join(srv.Dir(), "messages"))
	<-ctx.Done()
	return nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// writeUnrelatedCA writes a fresh self-signed CA certificate (for
// localhost) that has nothing to do with the server's PKI.
func writeUnrelatedCA(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tlsmail bench unrelated CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
