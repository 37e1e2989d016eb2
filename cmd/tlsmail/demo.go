package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
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
No network, no configuration, nothing to clean up but the printed directory.

On Windows the first session goes through Schannel, Windows' own TLS stack
(--tls-provider schannel), and the second through Go's crypto/tls, so that
both providers are seen side by side; elsewhere both use crypto/tls.
--tls-provider sends both sessions through the one named. The commands the
demo prints are written for the shell of the system: a POSIX shell, or on
Windows cmd.exe and PowerShell.`

func newDemoCommand(e *env, st *runState) *cobra.Command {
	var provider string
	cmd := &cobra.Command{
		Use:     "demo",
		Short:   "Send two messages to an embedded local server and show everything (offline)",
		Long:    demoLong,
		Example: "  go run ./cmd/tlsmail demo\n  tlsmail demo\n  tlsmail demo --tls-provider go",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			providers, err := demoProviders(e.providers.Names(), provider)
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), e, providers, newShellHints(runtime.GOOS))
		},
	}
	cmd.Flags().StringVar(&provider, "tls-provider", "", "TLS implementation of both sessions: "+strings.Join(e.providers.Names(), ", ")+
		" (default: the operating system's own for the first session where there is one, "+defaultProvider+" for the second)")
	return cmd
}

// demoProviders returns the TLS provider of each of the demo's two sessions
// (STARTTLS, then implicit TLS): flag for both when it is given; else,
// where the build offers a provider of the operating system's own
// (schannel on Windows), that one for the first session and crypto/tls
// for the second, so that both are shown; else crypto/tls for both.
func demoProviders(names []string, flag string) ([2]string, error) {
	if flag != "" {
		if !slices.Contains(names, flag) {
			return [2]string{}, usageErrorf("unknown --tls-provider %q", flag).
				withFix("this build offers: " + strings.Join(names, ", "))
		}
		return [2]string{flag, flag}, nil
	}
	for _, n := range names {
		if n != defaultProvider {
			return [2]string{n, defaultProvider}, nil
		}
	}
	return [2]string{defaultProvider, defaultProvider}, nil
}

// shellHints writes the commands the demo prints for the user's shell: a
// POSIX shell, or on Windows one line that both cmd.exe and PowerShell
// take (no line continuation, double quotes, rmdir or Remove-Item instead
// of rm -r).
type shellHints struct{ windows bool }

func newShellHints(goos string) shellHints { return shellHints{windows: goos == "windows"} }

// quote quotes s as one argument.
func (h shellHints) quote(s string) string {
	if !h.windows {
		return shellQuote(s)
	}
	// cmd.exe and PowerShell both take "..." as one argument. Inside it,
	// cmd.exe would still expand %VAR% and PowerShell $var: the temporary
	// directory and the demo's subjects hold neither.
	if s != "" && !strings.ContainsAny(s, " \t&|<>^()%!$`'\";,@{}") {
		return s
	}
	return `"` + s + `"`
}

// continuation ends a command line that goes on in the next one.
func (h shellHints) continuation() string {
	if h.windows {
		return "" // one long line: cmd.exe continues with ^, PowerShell with `
	}
	return " \\\n          "
}

// removeDir is the command that deletes dir and everything in it.
func (h shellHints) removeDir(dir string) string {
	if h.windows {
		return fmt.Sprintf("rmdir /s /q %s (cmd.exe) or Remove-Item -Recurse -Force %s (PowerShell)", h.quote(dir), h.quote(dir))
	}
	return "rm -r " + shellQuote(dir)
}

func runDemo(ctx context.Context, e *env, providers [2]string, sh shellHints) error {
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
		title    string
		addr     string
		mode     smtp.TLSMode
		provider string
	}{
		{"STARTTLS (RFC 3207)", srv.SMTPAddr(), smtp.StartTLS, providers[0]},
		{"implicit TLS (RFC 8314)", srv.SMTPSAddr(), smtp.Implicit, providers[1]},
	}
	for i, r := range runs {
		fmt.Fprintf(w, "\n=== %d/%d: %s to %s, TLS provider %s ===\n", i+1, len(runs), r.title, r.addr, providerTitle(r.provider))
		prov := ""
		if r.provider != defaultProvider {
			prov = " --tls-provider " + r.provider
		}
		fmt.Fprintf(w, "same as: tlsmail send --server %s --tls %s%s --ca %s --user demo --password-env ...%s", r.addr, r.mode, prov, sh.quote(srv.CAFile()), sh.continuation())
		fmt.Fprintf(w, " --from demo@example.com --to friend@example.org --subject %s --body ... --transcript -\n\n",
			sh.quote(fmt.Sprintf("tlsmail demo %d/%d", i+1, len(runs))))
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
			provider:     r.provider,
			timeout:      20 * time.Second,
			transcriptTo: w,
		}
		out, _, err := sendMessage(ctx, e, o)
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
		fmt.Fprintf(w, "%s  (%d bytes, from %s, %s, AUTH %s)\n", m.Path, m.Size, m.From, m.TLS.Summary(), m.AuthUser)
		fmt.Fprintf(w, "%s  (envelope and TLS details)\n", m.EnvelopePath)
	}
	fmt.Fprintf(w, "\nAll files are in %s (remove it with: %s)\n", dir, sh.removeDir(dir))
	fmt.Fprintf(w, "Next: 'tlsmail send --help' to send for real, 'tlsmail serve' to keep a server running.\n")
	return nil
}

// providerTitle names a TLS provider for the demo's headings.
func providerTitle(name string) string {
	switch name {
	case "schannel":
		return "schannel (Windows SSPI/Schannel)"
	case "go":
		return "go (Go's crypto/tls)"
	}
	return name
}
