// Command tlsmail sends mail over TLS and explains, in plain words, why a
// secure connection could not be made.
//
//	tlsmail demo                      # offline tour: embedded server, two sends
//	tlsmail send --server HOST[:PORT] --from A --to B --subject S --body TEXT
//	tlsmail serve                     # a local SMTP server with STARTTLS and TLS
//	tlsmail version
//
// Exit codes follow sysexits(3) so that scripts and MTAs can tell "retry"
// from "give up": see exit.go and `tlsmail help send`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/trust"
)

func main() {
	args := sendmailArgv(os.Args)
	ctx, stop := context.Background(), func() {}
	if interruptible(args) {
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	}
	code := run(ctx, args, &env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}

// interruptibleCommands are the commands whose SIGINT and SIGTERM cancel their
// context, so that they close connections and files in order and say how
// they ended: serve, demo and queue run until interrupted, and sendmail,
// whose message is in the outbox before it connects, reports an
// interrupted delivery as "queued as ..." and exits 0, as MTAs' callers
// (cron, mail(1), scripts) expect of a message that is safely queued.
// So does send --queue (see interruptible), which reports it as a
// temporary failure (exit 75) with the outbox item's ID.
// The others (send, probe, cert, version) keep the default: a signal ends
// the process at once, with the signal's exit status; a message that send
// was sending is not sent. That spares a short send the signal-handling
// thread, which costs about half a millisecond of start-up on a virtual
// machine.
var interruptibleCommands = []string{"serve", "demo", "queue", "sendmail"}

// interruptible reports whether the command line is one of interruptibleCommands,
// or a send that queues its message first (--queue): interrupted, it must
// still say that the message waits in the outbox, or its caller would send
// it again.
func interruptible(args []string) bool {
	if len(args) == 0 {
		return false
	}
	if slices.Contains(interruptibleCommands, args[0]) {
		return true
	}
	if args[0] != "send" {
		return false
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "--queue" || strings.HasPrefix(a, "--queue=") && a != "--queue=false" {
			return true
		}
	}
	return false
}

// env is everything a command may touch outside its own flags: the standard
// streams, the environment and the TLS providers. Tests and the demo build
// their own; nothing lives in package-level variables.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	providers      *secchan.Registry
	revocation     *trust.Checker // see revocationChecker
}

// run executes one tlsmail command line and returns the process exit code.
// It is the whole program except os.Exit.
func run(ctx context.Context, args []string, e *env) int {
	if e.providers == nil {
		e.providers = newProviders()
	}
	defer closeIdleProviders(e.providers)
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	defer func() { revocationCacheNotice(e.stderr, e.revocation, trust.DefaultChecker()) }()
	st := &runState{}
	root := newRootCommand(e, st, args)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if !st.started {
		// cobra refused the command line before any command ran: an
		// unknown command, an unknown flag, a bad flag value.
		err = usageErrorf("%s", cobraRefusal(err.Error())).withFix(fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
	}
	c := classify(err)
	if cmd != nil {
		c = hintFailure(hintCommand(cmd.CommandPath()), c)
	}
	var rep *reported
	if errors.As(err, &rep) {
		return c.code // the command has printed its JSON object
	}
	if st.json || (!st.started && wantsJSON(args)) {
		writeJSON(e.stdout, failureOutput(c))
	} else {
		printError(e.stderr, c)
	}
	return c.code
}

// runState records what happened during Execute that run needs afterwards.
type runState struct {
	// started is set when a command's RunE begins: errors before that are
	// cobra's command-line parsing errors.
	started bool
	// json is set when the failing command was asked for JSON output; run
	// then reports the error as a JSON object on stdout.
	json bool
}

// subcommands are tlsmail's commands, in the order help lists them.
var subcommands = []struct {
	name string
	make func(*env, *runState) *cobra.Command
}{
	{"send", newSendCommand},
	{"serve", newServeCommand},
	{"demo", newDemoCommand},
	{"version", newVersionCommand},
	{"probe", newProbeCommand},
	{"cert", newCertCommand},
	{"sendmail", newSendmailCommand},
	{"queue", newQueueCommand},
}

// newRootCommand builds the command tree for the command line args. When
// args name a command outright ("send ..."), only that command is built:
// building all of them (every flag set, every help text) is a good part of
// a short send's start-up. Anything else (help, completion, a typo, flags
// first) gets the whole tree, so that help lists every command and cobra
// can suggest the nearest name.
func newRootCommand(e *env, st *runState, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "tlsmail",
		Short: "Send mail over TLS and explain certificate failures",
		Long: `tlsmail sends mail over TLS (STARTTLS or implicit TLS, with AUTH) and tells
you, in plain words, why a secure connection could not be made: which
certificate is wrong, how, and what to do about it.

Start with 'tlsmail demo': it runs an embedded server on loopback with a
throwaway certificate authority and sends two messages to it, showing every
line of both sessions. No network or configuration is needed.

Exit codes (sysexits):
  0   sent
  64  usage error (bad flags or input; nothing was sent)
  65  message rejected permanently (5xx to MAIL, RCPT or DATA)
  68  host not found
  69  service unavailable (5xx greeting or EHLO)
  75  temporary failure: 4xx reply, network, timeout, TLS or certificate
      failure (try again later or fix the server)
  76  protocol error (including STARTTLS command injection)
  77  authentication refused
  78  configuration error (files, credentials, --config)`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v", err).withFix(fmt.Sprintf("see '%s --help'", c.CommandPath()))
	})
	for _, c := range subcommands {
		if len(args) > 0 && args[0] == c.name {
			root.AddCommand(c.make(e, st))
			// "completion" is a command of its own: not this one.
			root.CompletionOptions.DisableDefaultCmd = true
			return root
		}
	}
	for _, c := range subcommands {
		root.AddCommand(c.make(e, st))
	}
	return root
}

func newVersionCommand(e *env, st *runState) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of tlsmail and of the Go toolchain that built it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			fmt.Fprintln(e.stdout, versionString())
			return nil
		},
	}
}

// versionString is "tlsmail VERSION (go1.x, os/arch)", the version coming
// from the build information (the module version, or the VCS revision of a
// development build).
func versionString() string {
	version, goVersion := "(devel)", "unknown Go"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		} else {
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "+dirty"
					}
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" {
				version = "devel " + rev + dirty
			}
		}
	}
	return fmt.Sprintf("tlsmail %s (%s, %s/%s)", strings.TrimSpace(version), goVersion, runtime.GOOS, runtime.GOARCH)
}

// wantsJSON reports whether the command line asked for --json, for errors
// cobra finds before the flags are all parsed.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// cobraRefusal folds cobra's multi-line refusals ("unknown command \"sned\" for
// \"tlsmail\"\n\nDid you mean this?\n\tsend\n") into one line, so that the
// suggestion reads as words rather than as escaped line breaks.
func cobraRefusal(msg string) string {
	head, rest, ok := strings.Cut(msg, "\n\nDid you mean this?\n")
	if !ok {
		return strings.TrimRight(msg, "\n")
	}
	names := strings.Fields(rest)
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	return head + "; did you mean " + strings.Join(names, " or ") + "?"
}

// helpFlags replaces each line "@flags NAME..." of a help text that
// introduces flags by the usage lines of the named flags of fs, as the
// help's flag list prints them: the text then says what the flags' own
// usage strings say, and cannot drift from them.
func helpFlags(long string, fs *pflag.FlagSet) string {
	lines := strings.SplitAfter(long, "\n")
	for i, l := range lines {
		names, ok := strings.CutPrefix(strings.TrimSuffix(l, "\n"), "@flags ")
		if !ok {
			continue
		}
		sub := pflag.NewFlagSet("", pflag.ContinueOnError)
		sub.SortFlags = false
		for _, n := range strings.Fields(names) {
			sub.AddFlag(fs.Lookup(n))
		}
		lines[i] = sub.FlagUsagesWrapped(78)
	}
	return strings.Join(lines, "")
}
