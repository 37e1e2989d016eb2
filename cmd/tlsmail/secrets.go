package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/submit"
)

// There is deliberately no --password flag: a password on the command line
// is visible to every user of the machine (ps, /proc) and lands in shell
// history. The three sources below keep it out of both.

// passwordFlags are the places a password (or an XOAUTH2 token) can come
// from. At most one may be set.
type passwordFlags struct {
	env  string // --password-env VAR: the value of the environment variable VAR
	file string // --password-file F: the first line of F, which only its owner may read
	cmd  string // --password-cmd CMD: the first line CMD prints (run with sh -c)

	// literal is set by the demo (which generates its own password) and by
	// a configuration file's password command; it is not reachable from
	// the command line.
	literal string
	// cmdName names where cmd came from in messages; empty means
	// --password-cmd (a configuration file's passwordeval sets it).
	cmdName string
	// fromAccount, set for a queued item whose password is a
	// configuration account's, reads it with submit (the file again, its
	// passwordeval run or its password taken).
	fromAccount func(ctx context.Context) (string, error)
}

func (p *passwordFlags) register(fs *pflag.FlagSet, what, cmdExample string) {
	fs.StringVar(&p.env, "password-env", "", "read the "+what+" from the environment variable `VAR`")
	fs.StringVar(&p.file, "password-file", "", "read the "+what+" from the first line of `FILE` (mode 0600 or stricter)")
	fs.StringVar(&p.cmd, "password-cmd", "", "run `CMD` with sh -c and use the first line it prints as the "+what+" ("+cmdExample+")")
}

// count returns how many sources are set.
func (p *passwordFlags) count() int {
	n := 0
	for _, s := range []string{p.env, p.file, p.cmd, p.literal} {
		if s != "" {
			n++
		}
	}
	if p.fromAccount != nil {
		n++
	}
	return n
}

// check reports a usage error when more than one source is set.
func (p *passwordFlags) check() error {
	if p.count() > 1 {
		return usageErrorf("more than one password source given").
			withFix("use exactly one of --password-env, --password-file and --password-cmd")
	}
	return nil
}

// maxSecretBytes bounds what is read from a password file or command.
const maxSecretBytes = 64 << 10

// read returns the password from the configured source. Its errors never
// contain the password, nor the output of the command.
func (p *passwordFlags) read(ctx context.Context, e *env, timeout time.Duration) (string, error) {
	var pw string
	switch {
	case p.literal != "":
		return p.literal, nil
	case p.fromAccount != nil:
		pw, err := p.fromAccount(ctx)
		var se *submit.Error
		if errors.As(err, &se) && se.Field == "config_file_mode" {
			return "", configErrorf("%s", se.Msg).wrapping(err).withFix(se.Fix)
		}
		return pw, err
	case p.env != "":
		pw = e.getenv(p.env)
		if pw == "" {
			return "", configErrorf("the environment variable %s (from --password-env) is empty or not set", p.env).
				withFix("export " + p.env + " with the password, or name another variable")
		}
		return pw, nil
	case p.file != "":
		var err error
		if pw, err = readSecretFile(p.file); err != nil {
			return "", err
		}
	case p.cmd != "":
		var err error
		if pw, err = runSecretCommand(ctx, p.cmdSource(), p.cmd, timeout); err != nil {
			return "", err
		}
	default:
		return "", usageErrorf("no password source").
			withFix("give --password-env VAR, --password-file FILE or --password-cmd CMD with --user")
	}
	if pw == "" {
		return "", configErrorf("the password from %s is empty", p.describe()).
			withFix("put the password on the first line")
	}
	return pw, nil
}

// describe names the source as the user gave it, for messages.
func (p *passwordFlags) describe() string {
	switch {
	case p.env != "":
		return "--password-env " + p.env
	case p.file != "":
		return "--password-file " + p.file
	case p.cmd != "":
		return p.cmdSource()
	}
	return "the configured password"
}

// cmdSource names the password command for messages.
func (p *passwordFlags) cmdSource() string {
	if p.cmdName != "" {
		return p.cmdName
	}
	return "--password-cmd"
}

// readSecretFile returns the first line of path, refusing a file that
// other users may read (as ssh does for keys): submit.ReadSecretFile, its
// fixes naming the flags.
func readSecretFile(path string) (string, error) {
	pw, err := submit.ReadSecretFile(path)
	var se *submit.Error
	if !errors.As(err, &se) {
		return pw, err
	}
	ce := configErrorf("%s", se.Msg).wrapping(err)
	switch {
	case errors.Is(err, message.ErrNotRegular):
		ce.fix = "give --password-file the path of a regular file; for a program's output use --password-cmd"
	case se.Field == "secret_file_mode":
		ce.fix = "run: chmod 600 " + shellQuote(path)
	case se.Field == "secret_file":
		ce.fix = "check the path given to --password-file"
	}
	return "", ce
}

// runSecretCommand runs cmd with sh -c (cmd /C on Windows) through
// config.RunCommand and returns the first line of its standard output. Its
// standard input is empty; the start of its standard error is shown when it
// fails, so that a command can explain itself (gpg, pass). It is killed,
// with every process it started, at the timeout.
func runSecretCommand(ctx context.Context, source, cmd string, timeout time.Duration) (string, error) {
	line, err := submit.RunSecretCommand(ctx, cmd, timeout)
	var se *submit.Error
	if !errors.As(err, &se) {
		return line, err
	}
	// submit's error, worded with where the command came from and the
	// flags that change it.
	var ee *exec.ExitError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		why := context.DeadlineExceeded
		if !errors.Is(err, why) {
			why = context.Canceled
		}
		return "", configErrorf("the %s command did not finish in time (%v)", source, why).wrapping(err).
			withFix("check that the command does not wait for input, or raise --timeout")
	case errors.As(err, &ee):
		return "", configErrorf("the %s command failed: %v", source, se.Err).wrapping(err).withFix("run the command by hand to see why it fails")
	}
	return "", configErrorf("the %s command failed: %v", source, se.Err).wrapping(err).
		withFix("check that sh and the command exist, and that it prints the password on its first line")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
