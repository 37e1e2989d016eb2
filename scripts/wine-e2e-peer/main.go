// Command wine-e2e-peer is the SMTP server scripts/wine-e2e.sh sends to when
// a server must present a broken certificate chain: the embedded server
// (package server) with the chain of one internal/testpki scenario.
//
//	go run ./scripts/wine-e2e-peer -kind expired -dir DIR
//
// -kind offline-revocation is a good chain for mail.example.com whose CRL
// and OCSP URLs (leaf and intermediate) point at a loopback port nothing
// listens on: revocation offline, for the system-trust case of issue 10
// (the name is checked even when the revocation status is unknown).
//
// It writes DIR/ca.pem (the roots a client of the scenario trusts),
// DIR/name (the name to verify) and DIR/addrs ("SMTP-ADDR SMTPS-ADDR"), then
// serves until SIGINT or SIGTERM. Messages, should any be accepted, are
// stored under DIR/messages.
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/server"
)

func main() {
	kind := flag.String("kind", "expired", "the broken-chain `KIND` (internal/testpki.BrokenKinds)")
	dir := flag.String("dir", "", "`DIR` for ca.pem, name, addrs and messages")
	flag.Parse()
	if err := serve(*kind, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "wine-e2e-peer:", err)
		os.Exit(1)
	}
}

func serve(kind, dir string) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	var sc *testpki.Scenario
	var err error
	if kind == offlineKind {
		sc, err = offlineRevocation()
	} else {
		sc, err = testpki.NewBroken(kind)
	}
	if err != nil {
		return err
	}
	defer sc.Close()
	cert := sc.TLSCertificate()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := server.Start(start, server.Config{SMTPAddr: "127.0.0.1:0", SMTPSAddr: "127.0.0.1:0", Dir: dir, Certificate: &cert})
	if err != nil {
		return err
	}
	defer srv.Close()
	files := map[string][]byte{
		"ca.pem": testpki.CertsPEM(sc.Roots...),
		"name":   []byte(sc.Name + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	// addrs last: its presence tells the script the server is ready.
	addrs := fmt.Sprintf("%s %s\n", srv.SMTPAddr(), srv.SMTPSAddr())
	tmp := filepath.Join(dir, "addrs.tmp")
	if err := os.WriteFile(tmp, []byte(addrs), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "addrs")); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// offlineKind is the -kind of offlineRevocation.
const offlineKind = "offline-revocation"

// offlineRevocation makes root → intermediate → leaf for mail.example.com,
// the intermediate's and the leaf's CRL and OCSP URLs on a loopback port
// that was free a moment ago (nothing answers there: connection refused).
func offlineRevocation() (*testpki.Scenario, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	urls := testpki.Options{CRLDistributionPoints: []string{"http://" + addr + "/ca.crl"}, OCSPServer: []string{"http://" + addr + "/ocsp"}}
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate(urls)
	if err != nil {
		return nil, err
	}
	lo := urls
	lo.DNSNames = []string{"mail.example.com"}
	leaf, err := inter.Issue(lo)
	if err != nil {
		return nil, err
	}
	return &testpki.Scenario{Kind: offlineKind, Variant: offlineKind, Name: "mail.example.com",
		About: "CRL and OCSP URLs on a closed loopback port", Roots: []*x509.Certificate{root.Cert}, Chain: leaf.Chain, Key: leaf.Key}, nil
}
