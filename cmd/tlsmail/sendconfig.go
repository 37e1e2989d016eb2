package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// configUse records what applyConfig took from a configuration file
// besides the connection and authentication (o.file): where the outbox
// is, the aliases, the log and the DSN request.
type configUse struct {
	file     string // the configuration file read, "" when none
	account  string // the account chosen
	queueDir string // the account's queue_dir
	queueURL string // the account's queue_url
	aliases  string // the account's aliases file
	// The account's msmtp log: logfile, logfile_time_format, syslog.
	logFile, logTimeFormat, syslog string
	// dsn is the account's dsn_notify and dsn_return (RFC 3461).
	dsn smtp.DSN
}

// applyConfig reads the account of an msmtp-format configuration file
// into o.file (the connection and the authentication, its password a
// reference made by submit.FromConfig: buildAccount puts the flags given
// over it), and fills the sender and the message's header commands the
// command line left unset. The file is read when
// --config or --account is given, or when --server is not: then it is
// looked for as config.Locate says (TLSMAIL_CONFIG,
// $XDG_CONFIG_HOME/tlsmail/config, ~/.msmtprc); in sendmail mode
// (o.msmtpFiles) msmtp's files are read as msmtp reads them (see
// sendmailAccount). Command-line flags always win over the file.
func applyConfig(ctx context.Context, e *env, o *sendOptions) error {
	if o.config == "" && o.account == "" && o.server != "" {
		return nil
	}
	home := homeDir(e)
	var acct *config.Account
	var err error
	if o.msmtpFiles {
		acct, err = sendmailAccount(ctx, e, o, home)
	} else {
		acct, err = sendAccount(ctx, e, o, home)
	}
	if err != nil {
		return err
	}
	a := acct.Clone()
	if !o.msmtpFiles {
		// send writes the account's log too: syslog where there is none
		// is refused before anything is sent (sendmailAccount does so
		// in sendmail mode).
		if err := checkSyslog(runtime.GOOS, a.Syslog, "account "+a.Name); err != nil {
			return err
		}
		// EHLO %H must never go out literally (sendmailAccount expands
		// from too, as msmtp does in sendmail mode only).
		if err := a.Expand(ctx, expander(e, home), false); err != nil {
			return err
		}
	}
	// path is the file the account's password is read from again: ""
	// for the EMAIL and SMTPSERVER account, and for msmtp's --passwordeval
	// (sendmail mode), whose command the outbox keeps as it is.
	path := a.File
	if o.msmtpFiles && o.msmtpOverrides().Has("passwordeval") {
		path = ""
	}
	o.cfg = configUse{file: a.File, account: a.Name, queueDir: a.QueueDir, queueURL: a.QueueURL, aliases: a.Aliases,
		logFile: a.LogFile, logTimeFormat: a.LogTimeFormat, syslog: a.Syslog,
		dsn: smtp.DSN{Notify: a.DSNNotify, Return: a.DSNReturn}}
	if a.Password != "" && path != "" {
		// The file holds a password: like msmtp, refuse it when others
		// may read it (the system file may be read by its group).
		if err := e.connector().CheckConfigPassword(path); err != nil {
			return err
		}
	}
	if path != "" {
		// Its password (or passwordeval) is read from this copy, for
		// the message sent now and the backlog delivered after it: the
		// file and its eval lines are read once (o.connector).
		o.loaded = a
	}
	set := func(flag string) bool { return o.changed != nil && o.changed(flag) }
	if len(o.pins) > 0 || o.ca != "" {
		// The command line's trust replaces the file's: a
		// tls_fingerprint there is not used, so not refused.
		a.Fingerprint = nil
	}
	// The file's account as the library reads it (submit.FromConfig:
	// tls_fingerprint refused, the account checked); it fills what the
	// command line left unset.
	fa, err := submit.FromConfig(path, a)
	if err != nil {
		return err
	}
	if fa.Auth.Secret.Source == submit.SecretCommand && path == "" {
		// Not the file's passwordeval: msmtp's --passwordeval (sendmail
		// mode), which the outbox keeps as it is.
		fa.Auth.Secret.Name = "--passwordeval"
	}
	// The connection and authentication settings stay in the file's
	// account: buildAccount puts the flags given on the command line
	// over them.
	o.file = &fa
	if o.ehlo == "" && strings.ContainsFunc(fa.LocalName, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// The file's domain, after %H %C %M: say so, not --ehlo.
		return &config.Error{File: a.File, Line: a.Set["domain"].Line, Key: "domain",
			Msg: fmt.Sprintf("account %s: domain %q is not a host name", a.Name, fa.LocalName),
			Fix: "write a host name after domain (%H takes $HOSTNAME, else the system's host name: it must be one too)"}
	}
	if o.msmtpFiles {
		// msmtp's sender: sendmailAccount put -f in from unless
		// allow_from_override is off, and expanded it; the header
		// commands apply to the message.
		if o.from, err = a.EnvelopeFrom(""); err != nil {
			return err
		}
		// -f '' is the null sender, which allow_from_override off
		// replaces with the account's from as it does any -f.
		o.nullSender = o.nullSender && a.AllowFromOverride
		o.headerAccount = a
	} else if o.from == "" && a.From != "" && !strings.ContainsAny(a.From, "*?[%") {
		o.from = a.From
	}
	if o.user != "" && o.password.count() == 0 && a.Auth != "" {
		// --user replaces the file's authentication, password source
		// included (buildAccount).
		return &config.Error{File: a.File, Line: a.Line, Key: "password",
			Msg: fmt.Sprintf("account %s: auth is on but no password is given", a.Name),
			Fix: "add passwordeval (a command printing the password) to the account, or pass --password-env, --password-file or --password-cmd"}
	}
	if err := a.CheckHost(); err != nil && !set("server") {
		return err
	}
	return nil
}

// sendAccount reads the configuration file `send` uses (loadConfig)
// and chooses the account.
func sendAccount(ctx context.Context, e *env, o *sendOptions, home string) (*config.Account, error) {
	f, found, err := loadConfig(ctx, e, o.config, home)
	if err != nil {
		if !found && o.config == "" && o.account == "" {
			// No --server and no file: the plain usage error says more.
			return nil, usageErrorf("no server given").
				withFix("pass --server HOST[:PORT], or --config FILE with an msmtp-format account")
		}
		return nil, err
	}
	return f.Select(o.account, o.from)
}

// loadConfig reads the configuration file of send and the queue commands:
// explicit, else the one config.Locate finds, as readOptions says. found
// is false when there is no file to read (err is then config.Locate's); a
// file found but not readable is found with its error.
func loadConfig(ctx context.Context, e *env, explicit, home string) (f *config.File, found bool, err error) {
	path, err := config.Locate(explicit, e.getenv, home)
	if err != nil {
		return nil, false, err
	}
	f, err = config.Load(ctx, path, readOptions(home))
	return f, true, err
}

// readOptions is how every command reads msmtp-format files (send, the
// queue commands, sendmail's delivery, -bp and -q alike): '~' is home,
// and an eval line runs its command, as msmtp runs it. A file read one way
// by one command and another way by the next would queue a message that
// the queue commands cannot find, or refuse.
func readOptions(home string) config.Options {
	return config.Options{Home: home, Eval: config.RunCommand}
}
