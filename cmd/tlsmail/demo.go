package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

const demoLong = `Show tlsmail at work, offline, in a few seconds.

The demo starts the embedded SMTP server on loopback (random ports) with a
throwaway certificate authority in a new temporary directory, and a user
"demo" with a generated password. It then sends one message over STARTTLS
and one over implicit TLS, through exactly the code path of 'tlsmail send',
with full certificate verification against that CA and AUTH, and prints:
  - the transcript of both sessions (every command and reply with its byte
    count, the TLS handshake, the certificate verdict; the password redacted),
  - the TLS details (version, cipher suite, the verified chain),
  - where the delivered messages are on disk.
No network, no configuration, nothing to clean up but the printed directory.`

func newDemoCommand(e *env, st *runState) *cobra.Command {
	return &cobra.Command{
		Use:     "demo",
		Short:   "Send two messages to an embedded local server and show everything (offline)",
		Long:    demoLong,
		Example: "  go run ./cmd/tlsmail demo\n  tlsmail demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			return runDemo(cmd.Context(), e)
		},
	}
}

func runDemo(ctx context.Context, e *env) error {
	w := e.stdout
	dir, err := os.MkdirTemp("", "tlsmail-demo-")
	if err != nil {
		return configErrorf("cannot make a temporary directory: %v", err).wrapping(err).
			withFix("set TMPDIR to a writable directory")
	}
	pw, err := randomPassword()
	if err != nil {
		return err
	}
	srv, err := server.Start(ctx, server.Config{
		SMTPAddr:  "127.0.0.1:0",
		SMTPSAddr: "127.0.0.1:0",
		Dir:       dir,
		Users:     map[string]string{"demo": pw},
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	fmt.Fprintf(w, "tlsmail demo: an embedded SMTP server is listening on loopback\n")
	fmt.Fprintf(w, "  SMTP with STARTTLS:   %s\n", srv.SMTPAddr())
	fmt.Fprintf(w, "  implicit TLS (SMTPS): %s\n", srv.SMTPSAddr())
	fmt.Fprintf(w, "  throwaway CA:         %s\n", srv.CAFile())
	fmt.Fprintf(w, "  AUTH user:            demo (password generated, never shown)\n")

	runs := []struct {
		title string
		addr  string
		mode  smtp.TLSMode
	}{
		{"STARTTLS (RFC 3207)", srv.SMTPAddr(), smtp.StartTLS},
		{"implicit TLS (RFC 8314)", srv.SMTPSAddr(), smtp.Implicit},
	}
	for i, r := range runs {
		fmt.Fprintf(w, "\n=== %d/%d: %s to %s ===\n", i+1, len(runs), r.title, r.addr)
		fmt.Fprintf(w, "same as: tlsmail send --server %s --tls %s --ca %s --user demo --password-env ... \\\n", r.addr, r.mode, shellQuote(srv.CAFile()))
		fmt.Fprintf(w, "           --from demo@example.com --to friend@example.org --subject %s --body ... --transcript -\n\n",
			shellQuote(fmt.Sprintf("tlsmail demo %d/%d", i+1, len(runs))))
		o := &sendOptions{
			server:       r.addr,
			tlsMode:      string(r.mode),
			from:         "demo@example.com",
			to:           []string{"friend@example.org"},
			subject:      fmt.Sprintf("tlsmail demo %d/%d", i+1, len(runs)),
			body:         fmt.Sprintf("Hello from tlsmail.\n\nThis message travelled over %s, verified against a throwaway CA,\nafter AUTH as the user demo.\n", r.title),
			user:         "demo",
			password:     passwordFlags{literal: pw},
			auth:         "auto",
			ca:           srv.CAFile(),
			provider:     defaultProvider,
			timeout:      20 * time.Second,
			transcriptTo: w,
		}
		out, err := sendMessage(ctx, e, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n")
		printOutcome(w, e.stderr, out)
	}

	msgs, err := srv.Messages()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n=== delivered ===\n")
	for _, m := range msgs {
		via := "no TLS"
		if m.TLS != nil {
			via = m.TLS.Version + ", " + m.TLS.CipherSuite
			if m.TLS.STARTTLS {
				via = "STARTTLS, " + via
			} else {
				via = "implicit TLS, " + via
			}
		}
		fmt.Fprintf(w, "%s  (%d bytes, from %s, %s, AUTH %s)\n", m.Path, m.Size, m.From, via, m.AuthUser)
		fmt.Fprintf(w, "%s  (envelope and TLS details)\n", m.EnvelopePath)
	}
	fmt.Fprintf(w, "\nAll files are in %s (remove it with: rm -r %s)\n", dir, shellQuote(dir))
	fmt.Fprintf(w, "Next: 'tlsmail send --help' to send for real, 'tlsmail serve' to keep a server running.\n")
	return nil
}
