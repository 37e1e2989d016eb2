// Command minisend is the smallest program that does what the benchmark's
// `tlsmail send` does: read a CA file, a password file and a prepared
// message, then connect with STARTTLS, verify the server's chain against
// the CA, AUTH PLAIN, send and quit, through the tlsmail library (package
// smtp with the crypto/tls provider), with no CLI, configuration or
// message parsing around it.
//
// bench/run.sh times it beside `tlsmail send` to show how much of the
// whole-process time is the command-line tool and how much any Go program
// doing the same exchange pays.
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/smtp"
)

func main() {
	server := flag.String("server", "", "HOST:PORT (STARTTLS)")
	caFile := flag.String("ca", "", "PEM file with the CA to trust")
	user := flag.String("user", "", "AUTH PLAIN user name")
	pwFile := flag.String("password-file", "", "file whose first line is the password")
	from := flag.String("from", "", "envelope sender")
	to := flag.String("to", "", "envelope recipient")
	msgFile := flag.String("message", "", "prepared RFC 5322 message")
	flag.Parse()
	if err := run(*server, *caFile, *user, *pwFile, *from, *to, *msgFile); err != nil {
		fmt.Fprintln(os.Stderr, "minisend:", err)
		os.Exit(1)
	}
}

func run(server, caFile, user, pwFile, from, to, msgFile string) error {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no certificate", caFile)
	}
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return err
	}
	password, _, _ := strings.Cut(string(pw), "\n")
	msg, err := os.ReadFile(msgFile)
	if err != nil {
		return err
	}
	cfg := &smtp.Config{
		TLS:     &secchan.Config{ServerName: host},
		Auth:    &smtp.Auth{Mechanism: "PLAIN", Username: user, Password: password},
		Timeout: 30 * time.Second,
	}
	cfg.TLS.Trust.Roots = pool
	ctx := context.Background()
	c, err := smtp.Dial(ctx, server, cfg)
	if err != nil {
		return err
	}
	env := smtp.Envelope{From: from, To: []string{to}, Size: int64(len(msg))}
	_, err = c.SendAndQuit(ctx, env, strings.NewReader(string(msg)))
	return err
}
