package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

type serveOptions struct {
	smtp     string
	smtps    string
	dir      string
	user     string
	password passwordFlags
	debug    bool
	clientCA string
}

const serveLong = `Run the embedded SMTP server on this machine, for testing clients
(tlsmail send, swaks, msmtp, your application).

It listens for plain SMTP with STARTTLS (--smtp) and for implicit TLS
(--smtps), with a certificate from a throwaway certificate authority made at
start-up for localhost, 127.0.0.1 and ::1. The CA certificate is written to
DIR/ca.pem: give it to clients (tlsmail send --ca DIR/ca.pem, swaks
--tls-ca-path, msmtp tls_trust_file) so that they verify the server for real.
Every message received is stored as a file under DIR, next to a JSON file
with its envelope and TLS details.

With --user, AUTH PLAIN and LOGIN are offered on TLS connections and
required for sending. The password comes from --password-env, --password-file
or --password-cmd; without one, a random password is generated and printed.

With --client-ca FILE, every TLS client must present a certificate issued
by a CA in FILE (PEM), verified by the server (RFC 8446 section 4.3.2,
CertificateRequest); the subject of the client certificate is recorded in
the message's JSON file (client_cert_subject). Connections without one fail
the handshake.

At start-up serve prints the exact 'tlsmail send' command lines that reach
it. It runs until interrupted (Ctrl-C, SIGINT or SIGTERM), then closes every
connection and exits 0. An empty --smtp or --smtps disables that listener;
port 0 picks a free port.`

const serveExample = `  # defaults: 127.0.0.1:2525 (STARTTLS) and 127.0.0.1:4465 (implicit TLS), a new temp dir
  tlsmail serve

  # require AUTH, keep messages in ./mail
  tlsmail serve --dir ./mail --user test          # prints a generated password
  SERVE_PW=s3cret tlsmail serve --user test --password-env SERVE_PW

  # send into it with swaks
  swaks --server 127.0.0.1:2525 --tls --tls-ca-path DIR/ca.pem --to someone@example.com`

func newServeCommand(e *env, st *runState) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:     "serve",
		Short:   "Run a local SMTP server with STARTTLS and implicit TLS, for testing",
		Long:    serveLong,
		Example: serveExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			return runServe(cmd.Context(), e, o)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.smtp, "smtp", "127.0.0.1:2525", "listen for SMTP with STARTTLS on `ADDR` (empty: off)")
	fs.StringVar(&o.smtps, "smtps", "127.0.0.1:4465", "listen for implicit TLS on `ADDR` (empty: off)")
	fs.StringVar(&o.dir, "dir", "", "store ca.pem and messages in `DIR` (default: a new temporary directory, kept on exit)")
	fs.StringVar(&o.user, "user", "", "require AUTH as `NAME`")
	o.password.register(fs, "password of --user", "e.g. 'pass show test-smtp'")
	fs.StringVar(&o.clientCA, "client-ca", "", "require TLS clients to present a certificate issued by a CA in PEM `FILE`, and verify it")
	fs.BoolVar(&o.debug, "debug", false, "log every SMTP line of every session on standard error (AUTH redacted)")
	return cmd
}

// serveEnvVar is the variable the printed send command reads a generated
// password from.
const serveEnvVar = "TLSMAIL_PASSWORD"

func runServe(ctx context.Context, e *env, o *serveOptions) error {
	if o.smtp == "" && o.smtps == "" {
		return usageErrorf("both listeners are disabled").withFix("give --smtp or --smtps an address, e.g. 127.0.0.1:2525")
	}
	if err := o.password.check(); err != nil {
		return err
	}
	if o.user == "" && o.password.count() > 0 {
		return usageErrorf("a password source was given without --user").withFix("add --user NAME")
	}
	cfg := server.Config{SMTPAddr: o.smtp, SMTPSAddr: o.smtps, Log: e.stderr}
	if o.debug {
		cfg.Debug = e.stderr
	}
	if o.clientCA != "" {
		// Read as send's --ca is: a regular file only, bounded.
		pool, err := submit.LoadCAFile(o.clientCA)
		var se *submit.Error
		switch {
		case errors.As(err, &se) && se.Field == "ca_file":
			return configErrorf("cannot read the client CA file: %v", se.Err).wrapping(err).withFix("check the path given to --client-ca")
		case err != nil:
			return configErrorf("the client CA file %s holds no PEM certificate", o.clientCA).wrapping(err).
				withFix("give --client-ca a file with one or more -----BEGIN CERTIFICATE----- blocks")
		}
		cfg.ClientCAs, cfg.RequireClientCert = pool, true
	}
	var pw string
	generated := false
	if o.user != "" {
		if err := (submit.Auth{User: o.user}).Check(); err != nil {
			return flagUsage(err) // a user name on two lines
		}
		if o.password.count() == 0 {
			var err error
			if pw, err = randomPassword(); err != nil {
				return err
			}
			generated = true
		} else {
			var err error
			// The one reader of secrets, as for send; its errors never
			// hold the password, nor the command's output.
			ref, _ := o.password.ref()
			if pw, err = e.connector().Secret(ctx, &submit.Account{Timeout: time.Minute}, ref); err != nil {
				return err
			}
		}
		cfg.Users = map[string]string{o.user: pw}
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "tlsmail-serve-")
		if err != nil {
			return configErrorf("cannot make a temporary directory: %v", err).wrapping(err).withFix("pass --dir DIR")
		}
		dir = d
	}
	cfg.Dir = dir
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "tlsmail serve: running; stop with Ctrl-C\n")
	if a := srv.SMTPAddr(); a != "" {
		fmt.Fprintf(w, "  SMTP with STARTTLS:   %s\n", a)
	}
	if a := srv.SMTPSAddr(); a != "" {
		fmt.Fprintf(w, "  implicit TLS (SMTPS): %s\n", a)
	}
	fmt.Fprintf(w, "  CA certificate:       %s\n", srv.CAFile())
	fmt.Fprintf(w, "  messages are stored:  %s\n", srv.MessagesDir())
	if o.clientCA != "" {
		fmt.Fprintf(w, "  client certificates:  required, issued by a CA in %s\n", o.clientCA)
	}
	if o.user != "" {
		if generated {
			fmt.Fprintf(w, "  AUTH user:            %s, generated password: %s\n", o.user, pw)
		} else {
			fmt.Fprintf(w, "  AUTH user:            %s, password from %s\n", o.user, o.password.describe())
		}
	}
	fmt.Fprintf(w, "Send a message to it with:\n")
	for _, l := range []struct{ addr, mode string }{{srv.SMTPAddr(), "starttls"}, {srv.SMTPSAddr(), "implicit"}} {
		if l.addr != "" {
			fmt.Fprintf(w, "  %s\n", sendCommandLine(l.addr, l.mode, srv.CAFile(), o, generated, pw))
		}
	}

	<-ctx.Done()
	fmt.Fprintf(w, "tlsmail serve: stopping\n")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "tlsmail serve: stopped; messages remain in %s\n", srv.MessagesDir())
	return nil
}

// sendCommandLine is the tlsmail send command that reaches a listener.
func sendCommandLine(addr, mode, caFile string, o *serveOptions, generated bool, pw string) string {
	var b strings.Builder
	if generated {
		fmt.Fprintf(&b, "%s=%s ", serveEnvVar, shellQuote(pw))
	}
	fmt.Fprintf(&b, "tlsmail send --server %s", addr)
	if mode == "implicit" {
		b.WriteString(" --tls implicit")
	}
	fmt.Fprintf(&b, " --ca %s", shellQuote(caFile))
	if o.user != "" {
		fmt.Fprintf(&b, " --user %s", shellQuote(o.user))
		switch {
		case generated:
			fmt.Fprintf(&b, " --password-env %s", serveEnvVar)
		case o.password.env != "":
			fmt.Fprintf(&b, " --password-env %s", o.password.env)
		case o.password.file != "":
			fmt.Fprintf(&b, " --password-file %s", shellQuote(o.password.file))
		case o.password.cmd != "":
			fmt.Fprintf(&b, " --password-cmd %s", shellQuote(o.password.cmd))
		}
	}
	b.WriteString(" --from you@example.com --to someone@example.com --subject 'Hello' --body 'It works.'")
	return b.String()
}

// randomPassword returns 16 random characters.
func randomPassword() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
