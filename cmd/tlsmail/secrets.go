package main

import (
	"strings"

	"github.com/spf13/pflag"
	"github.com/tlsmail/tlsmail/submit"
)

// There is deliberately no --password flag: a password on the command line
// is visible to every user of the machine (ps, /proc) and lands in shell
// history. The three sources below keep it out of both.

// passwordFlags are the places a password (or an XOAUTH2 token) can come
// from on the command line. At most one may be set. The password is read
// by submit (the one reader of secrets, as for a queued item); the
// flag-hint table names the flag of a source that fails (submit.Error's
// Source). A configuration account's password is no flag: its reference
// is in the account (submit.FromConfig).
type passwordFlags struct {
	env  string // --password-env VAR: the value of the environment variable VAR
	file string // --password-file F: the first line of F, which only its owner may read
	cmd  string // --password-cmd CMD: the first line CMD prints (run with sh -c)

	// literal is set by the demo, which generates its own password; it is
	// not reachable from the command line, and cannot be queued.
	literal string
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

// ref is the source the flags name, as submit reads it (false for none,
// and for a literal password, which is not read).
func (p *passwordFlags) ref() (submit.SecretRef, bool) {
	switch {
	case p.env != "":
		return submit.SecretRef{Source: submit.SecretEnv, Ref: p.env, Name: "--password-env"}, true
	case p.file != "":
		return submit.SecretRef{Source: submit.SecretFile, Ref: p.file, Name: "--password-file"}, true
	case p.cmd != "":
		return submit.SecretRef{Source: submit.SecretCommand, Ref: p.cmd, Name: "--password-cmd"}, true
	}
	return submit.SecretRef{}, false
}

// describe names the source as the user gave it, for messages (ref's:
// serve describes a password only when the flags name one).
func (p *passwordFlags) describe() string {
	switch {
	case p.env != "":
		return "--password-env " + p.env
	case p.file != "":
		return "--password-file " + p.file
	}
	return "--password-cmd"
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
