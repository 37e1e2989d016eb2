package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/submit"
)

// configUse records what applyConfig took from a configuration file, for
// the outbox: a queued message names the file and account, never the
// password (see accountFor in deliver.go).
type configUse struct {
	file     string // the configuration file read, "" when none
	account  string // the account chosen
	queueDir string // the account's queue_dir
	queueURL string // the account's queue_url
	aliases  string // the account's aliases file
	// The account's msmtp log: logfile, logfile_time_format, syslog.
	logFile, logTimeFormat, syslog string
	// password is set when the password source (password or
	// passwordeval) is the account's.
	password bool
}

// applyConfig fills the send options the command line left unset from an
// account of an msmtp-format configuration file. The file is read when
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
	path := a.File // "" for the EMAIL and SMTPSERVER account
	o.cfg = configUse{file: path, account: a.Name, queueDir: a.QueueDir, queueURL: a.QueueURL, aliases: a.Aliases,
		logFile: a.LogFile, logTimeFormat: a.LogTimeFormat, syslog: a.Syslog}
	if a.Password != "" && path != "" {
		// The file holds a password: like msmtp, refuse it when others
		// may read it (the system file may be read by its group).
		sys := sendmailSearch(e, "", home).SystemFile
		if err := submit.CheckPasswordFile(path, sys != "" && filepath.Clean(sys) == filepath.Clean(path)); err != nil {
			var se *submit.Error
			if errors.As(err, &se) {
				return configErrorf("%s", se.Msg).withFix(se.Fix)
			}
			return err
		}
	}
	set := func(flag string) bool { return o.changed != nil && o.changed(flag) }
	if o.server == "" {
		o.server = a.Host + ":" + strconv.Itoa(a.ServerPort())
		if strings.Contains(a.Host, ":") && !strings.HasPrefix(a.Host, "[") {
			o.server = "[" + a.Host + "]:" + strconv.Itoa(a.ServerPort())
		}
	}
	if o.tlsMode == "" {
		switch {
		case !a.TLS:
			o.tlsMode = "none"
		case a.StartTLS:
			o.tlsMode = "starttls"
		default:
			o.tlsMode = "implicit"
		}
	}
	if len(a.Fingerprint) > 0 && len(o.pins) == 0 && o.ca == "" {
		return &config.Error{File: a.File, Line: a.Line, Key: "tls_fingerprint",
			Msg: fmt.Sprintf("account %s: tls_fingerprint (a hash of the whole certificate) is not supported", a.Name),
			Fix: "pin the key instead with tls_pin sha256/BASE64 (tlsmail probe prints it), or use tls_trust_file"}
	}
	if o.ca == "" && a.TrustFile != "" && a.TrustFile != "system" {
		o.ca = a.TrustFile
	}
	if len(o.pins) == 0 {
		o.pins = a.Pin
	}
	if o.cert == "" && o.key == "" {
		o.cert, o.key = a.CertFile, a.KeyFile
	}
	if !set("insecure") && a.TLS && !a.CertCheck {
		o.insecure = true
	}
	if !set("tls-provider") && a.Provider != "" {
		o.provider = a.Provider
	}
	if o.tlsName == "" && a.TLSHostOverride != "" {
		o.tlsName = a.TLSHostOverride
	}
	if !set("timeout") && a.Timeout > 0 {
		o.timeout = a.Timeout
	}
	if o.ehlo == "" && a.Domain != "" {
		o.ehlo = a.Domain
	}
	if o.from == "" && a.From != "" && !strings.ContainsAny(a.From, "*?[%") {
		o.from = a.From
	}
	if a.Revocation != "" && o.revocationFlag == "" {
		o.revocation = a.Revocation
	}
	// Authentication: the file's, unless the command line names a user.
	if o.user == "" && a.Auth != "" && a.User != "" {
		o.user = a.User
		if o.password.count() == 0 {
			switch {
			case a.PasswordEval != "":
				o.password.cmd = a.PasswordEval
				o.password.cmdName = "passwordeval (" + path + ")"
				if path == "" {
					o.password.cmdName = "--passwordeval"
				}
				o.cfg.password = path != "" // else: the command itself is the source
			case a.Password != "":
				o.password.literal = a.Password
				o.cfg.password = true // a literal password always comes from a file
			}
		}
		if !set("auth") {
			if a.Auth == "on" {
				o.auth = "auto"
			} else {
				o.auth = strings.ToUpper(a.Auth)
				o.authNamed = true // named in the file: as good as --auth
			}
		}
	}
	if o.user != "" && o.password.count() == 0 && a.Auth != "" {
		return &config.Error{File: a.File, Line: a.Line, Key: "password",
			Msg: fmt.Sprintf("account %s: auth is on but no password is given", a.Name),
			Fix: "add passwordeval (a command printing the password) to the account, or pass --password-env, --password-file or --password-cmd"}
	}
	var ce *config.Error
	if err := a.Check(); errors.As(err, &ce) {
		return err
	}
	if err := a.CheckHost(); err != nil && !set("server") {
		return err
	}
	return nil
}

// sendAccount reads the configuration file `send` uses (config.Locate)
// and chooses the account.
func sendAccount(ctx context.Context, e *env, o *sendOptions, home string) (*config.Account, error) {
	path, err := config.Locate(o.config, e.getenv, home)
	if err != nil {
		if o.config == "" && o.account == "" {
			// No --server and no file: the plain usage error says more.
			return nil, usageErrorf("no server given").
				withFix("pass --server HOST[:PORT], or --config FILE with an msmtp-format account")
		}
		return nil, err
	}
	f, err := config.Load(ctx, path, config.Options{Home: home, Eval: config.RunCommand})
	if err != nil {
		return nil, err
	}
	return f.Select(o.account, o.from)
}
