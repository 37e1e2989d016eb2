// Package submit is the account-to-delivery layer between tlsmail's command
// line (or a Go program) and the lower layers: one typed Account saying how
// to reach a submission server (RFC 6409) and authenticate to it, built from
// an msmtp-format configuration account or from a program's own settings,
// and stored with each outbox item in place of loose strings.
//
// An Account never holds a secret: the password (or OAuth2 token, or PFX
// password) is a SecretRef, the place to read it from again when a message
// is delivered, so that an Account can be written to the outbox's spool.
//
// The pieces, from an Account to a delivered message:
//
//   - Account: FromConfig builds one from an msmtp-format account; its JSON
//     is the outbox item's settings (Enqueue), also its grouping key (Key).
//   - Connector: Account → smtp.Config (CA file, client certificate, TLS
//     provider, the secret read last); Send is Config, smtp.Dial and one
//     message.
//   - Deliverer: the outbox.Deliverer of tlsmail's command line and of
//     library users alike: one connection per batch with pipelined messages,
//     a new session resuming after a broken one, shared TLS session and
//     verdict caches, servers that timed out skipped for the rest of the
//     run, and one retry classification (Classify).
//   - Worker: the long-running delivery loop (`tlsmail queue run --watch`,
//     or a goroutine in a program that queues mail), woken at once by its
//     Enqueue.
package submit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Account is how to reach one submission server: where it is, how the
// connection is secured and verified, which client identity and TLS
// provider to use, and how to authenticate. The zero value of each field
// means the default (system roots, the host's own name, the "go" provider,
// smtp.DefaultTimeout).
type Account struct {
	// ConfigFile and Name record the configuration account the Account was
	// built from ("" when none): a SecretRef of source "config" reads that
	// account again.
	ConfigFile string
	Name       string
	// ConfigHost is the host the configuration account named when the
	// Account was built from it (FromConfig), whatever Host says since
	// (send --server): a password read from the account again
	// (SecretConfig) is sent only while the account still names that host
	// (Host when ConfigHost is ""), so that a queued item never takes the
	// password of the host an edited account now names to its old one.
	ConfigHost string

	// Host and Port are the server (Port 0: 587, or 465 for implicit TLS).
	Host string
	Port int
	// Mode is how TLS is used: smtp.StartTLS (RFC 3207), smtp.Implicit
	// (RFC 8314 section 3) or smtp.None. "" means the port's default
	// (smtp.DefaultMode).
	Mode smtp.TLSMode

	// Trust says what the server's certificate must satisfy.
	Trust Trust
	// Client is the client certificate presented, if any.
	Client ClientIdentity

	// Provider names the TLS implementation (a secchan.Registry name:
	// "go", or "schannel" on Windows); "" means "go".
	Provider string
	// LocalName is the EHLO argument (RFC 5321 section 4.1.1.1); "" means
	// the smtp package's default.
	LocalName string
	// Timeout bounds each network step; 0 means smtp.DefaultTimeout.
	Timeout time.Duration

	// Auth is the SMTP authentication (RFC 4954); the zero value means
	// none.
	Auth Auth

	// Log is where msmtp's log line of each message goes (the account's
	// logfile, logfile_time_format and syslog). It is kept with a queued
	// item so that the program delivering it from the outbox later can
	// write the line when it leaves (tlsmail's queue run and worker do,
	// with package maillog); submit itself writes no log. The zero value
	// means none.
	Log Log
}

// Log is msmtp's log settings of an Account (maillog.Config's, which
// package maillog writes): nothing secret.
type Log struct {
	// File is the log file ("-": the standard output of the program
	// writing the line); "" means none.
	File string
	// TimeFormat is the strftime(3) format of a file line's time stamp;
	// "" means msmtp's.
	TimeFormat string
	// Syslog is "" or "off" for none, "on", or a facility (LOG_MAIL ...).
	Syslog string
}

// IsZero reports whether l asks for no log at all.
func (l Log) IsZero() bool { return l.File == "" && (l.Syslog == "" || l.Syslog == "off") }

// Trust is how the server's certificate is verified.
type Trust struct {
	// CAFile is a PEM file of the CAs to trust instead of the system's
	// roots; "" means the system's roots.
	CAFile string
	// Pins are SPKI pins ("sha256/BASE64"): a certificate of the chain must
	// match one of them.
	Pins []string
	// ServerName is the name sent in SNI and verified in the certificate;
	// "" means Host.
	ServerName string
	// Revocation is the revocation policy; "" means trust's default.
	Revocation trust.RevocationMode
	// CRLFile is a file of certificate revocation lists (PEM or DER,
	// msmtp's tls_crl_file) checked besides the online sources: a
	// certificate of the server's chain it lists is revoked
	// (trust.Options.CRLs). "" means none.
	CRLFile string
	// Insecure delivers even when the certificate fails verification (the
	// report is still made).
	Insecure bool
	// Fingerprint is a whole-certificate fingerprint (msmtp's
	// tls_fingerprint), kept only so that an item queued with one is
	// refused with a clear error: tlsmail pins keys (Pins), not
	// certificates.
	Fingerprint string
}

// ClientIdentity is the client certificate presented in the handshake
// (RFC 8446 section 4.4.2). At most one of its three forms is set: PEM
// files, a Windows certificate store entry, or a PKCS#12 file.
type ClientIdentity struct {
	// CertFile and KeyFile are PEM files; KeyFile "" means the key is in
	// CertFile.
	CertFile string
	KeyFile  string
	// Store, Thumbprint and Subject select a certificate in a Windows
	// certificate store (Schannel provider only): Store is "MY",
	// "CurrentUser\MY" or "LocalMachine\MY"; Thumbprint (SHA-1 hex) or
	// Subject (a substring) picks the certificate.
	Store      string
	Thumbprint string
	Subject    string
	// PFXFile is a PKCS#12 file decoded by Windows, and PFXPassword where
	// its password comes from (the zero SecretRef: no password).
	PFXFile     string
	PFXPassword SecretRef
}

// IsZero reports whether no client certificate is configured.
func (c ClientIdentity) IsZero() bool {
	return c.CertFile == "" && c.KeyFile == "" && c.Store == "" && c.Thumbprint == "" && c.Subject == "" &&
		c.PFXFile == "" && c.PFXPassword.IsZero()
}

// check reports a client identity given in more than one form, a PFX
// password without its file, a key file without its certificate, or a
// certificate store entry that cannot be picked: Field "client_cert",
// "pfx", "key_file" or "cert_store" ("provider" when the
// entry is given to a provider other than "schannel", the Account's
// provider).
func (c ClientIdentity) check(provider string) error {
	bad := func(field, msg, fix string) error { return &Error{Field: field, Msg: msg, Fix: fix} }
	store := c.Store != "" || c.Thumbprint != "" || c.Subject != ""
	pem := c.CertFile != "" || c.KeyFile != ""
	switch {
	case !c.PFXPassword.IsZero() && c.PFXFile == "":
		return bad("pfx", "a PFX password source is given without a PFX file", "name the PFX file, or drop the password source")
	case c.KeyFile != "" && c.CertFile == "":
		// Plan loads the key with its certificate only: alone, it would
		// be ignored and the connection made without a client certificate.
		return bad("key_file", "the account names a client key file without its certificate",
			"name the client certificate's file too, or drop the key file")
	case c.PFXFile != "" && store:
		return bad("client_cert", "the account names a PFX file and a certificate store entry",
			"give the client certificate once: PEM files, a PFX file, or a certificate store entry")
	case c.PFXFile != "" && pem:
		return bad("client_cert", "the account names a PEM client certificate and a PFX file",
			"give the client certificate once: PEM files or a PFX file")
	case store && pem:
		return bad("client_cert", "the account names a PEM client certificate and a certificate store entry",
			"give the client certificate once: PEM files or a certificate store entry")
	case !store:
		return nil
	case c.Thumbprint == "" && c.Subject == "":
		return bad("cert_store", "the certificate store needs a thumbprint or a subject to pick the certificate",
			"give the certificate's SHA-1 thumbprint ('certutil -user -store MY' lists the store's certificates)")
	case c.Thumbprint != "" && c.Subject != "":
		return bad("cert_store", "both a thumbprint and a subject pick the client certificate", "give one of them")
	case !strings.EqualFold(provider, "schannel"):
		if provider == "" {
			provider = "go"
		}
		return bad("provider", fmt.Sprintf("a certificate store works with the schannel provider only (not %q)", provider),
			"use the schannel provider, or export the certificate and key to PEM files")
	}
	if loc, name, ok := strings.Cut(c.Store, `\`); ok {
		switch {
		case !strings.EqualFold(loc, "localmachine") && !strings.EqualFold(loc, "currentuser"):
			return bad("cert_store", fmt.Sprintf("certificate store %q: the location must be CurrentUser or LocalMachine", c.Store),
				`give a store name such as MY, or CurrentUser\MY or LocalMachine\MY`)
		case name == "":
			return bad("cert_store", fmt.Sprintf("certificate store %q names no store", c.Store), `give e.g. LocalMachine\MY`)
		}
	}
	return nil
}

// Auth is the SMTP authentication of an Account.
type Auth struct {
	// Mechanism is a SASL mechanism name (PLAIN, LOGIN, CRAM-MD5,
	// SCRAM-SHA-256, OAUTHBEARER, XOAUTH2) or "AUTO" (the strongest the
	// server offers). For OAUTHBEARER and XOAUTH2 the secret is the OAuth
	// 2.0 access token.
	Mechanism string
	// User is the authentication identity; "" means no authentication.
	User string
	// Secret is where the password or token is read at delivery.
	Secret SecretRef
}

// Check reports whether the login itself can be made: a user name on one
// line (and, for OAUTHBEARER and XOAUTH2, whose message separates its
// fields with 0x01, without control characters), and a mechanism the smtp
// client has, as Mechanism lists it (any case; "" is AUTO). It does not
// look at the secret, which a program may hold itself; Account.Check does,
// with the rest of the account. The error is an *Error of field "user" or
// "auth".
func (a Auth) Check() error {
	bad := func(field, msg, fix string) error {
		return &Error{Field: field, Msg: msg, Fix: fix}
	}
	if strings.ContainsAny(a.User, "\r\n\x00") {
		return bad("user", "the user name contains a line break or NUL", "give the user name on one line")
	}
	switch m := strings.ToUpper(a.Mechanism); m {
	case "", "AUTO", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256":
	case "OAUTHBEARER", "XOAUTH2":
		// 0x01 separates the fields of their message: the client
		// refuses such a name at AUTH (KindConfig, deferred by
		// Classify), and a queued item keeps it.
		if strings.ContainsFunc(a.User, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return bad("user", "the user name holds control characters, which "+m+" cannot carry", "give the user name alone")
		}
	default:
		return bad("auth", fmt.Sprintf("unknown authentication mechanism %q", a.Mechanism),
			"use AUTO, PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, OAUTHBEARER or XOAUTH2")
	}
	return nil
}

// Plaintext reports whether the password may go over a connection without
// TLS: only with Mode smtp.None and a named mechanism (never with AUTO),
// as the command line requires both --tls none and --auth MECHANISM.
func (a *Account) Plaintext() bool {
	m := strings.ToUpper(a.Auth.Mechanism)
	return a.Mode == smtp.None && a.Auth.User != "" && m != "" && m != "AUTO"
}

// SecretSource says what kind of place a SecretRef names.
type SecretSource string

// The places a secret can be read from.
const (
	// SecretEnv: Ref is the name of an environment variable.
	SecretEnv SecretSource = "env"
	// SecretFile: Ref is a file whose first line is the secret; the file
	// must not be readable by other users.
	SecretFile SecretSource = "file"
	// SecretCommand: Ref is a shell command whose first output line is the
	// secret (msmtp's passwordeval), run by config.RunCommand.
	SecretCommand SecretSource = "command"
	// SecretConfig: Ref is an account of Account.ConfigFile whose password
	// or passwordeval is read again, only while the account names the host
	// it named when the Account was built (Account.ConfigHost); when it
	// has neither, the password comes from netrc as for SecretNetrc
	// (msmtp's order).
	SecretConfig SecretSource = "config"
	// SecretNetrc: the password of the netrc entry whose machine is the
	// Account's Host and whose login is its Auth.User, as msmtp looks it
	// up for an account with no password: Ref is a netrc file, or "" for
	// msmtp's files (config.NetrcFiles: ~/.netrc, then netrc beside the
	// system configuration file). A file whose entry is used must not be
	// readable by other users (as a configuration file with a password).
	SecretNetrc SecretSource = "netrc"
)

// SecretRef names where a secret is read from; it never holds the secret.
type SecretRef struct {
	Source SecretSource
	Ref    string
	// Name is how messages name the source, e.g. the setting or flag that
	// gave it ("--password-cmd", "passwordeval (~/.msmtprc)"); "" names
	// it by its Source. It is not stored with the Account (an item read
	// back from the outbox has none) and is no part of IsZero.
	Name string
	// Config is set on the secret of a configuration account read from
	// its file (FromConfig) when Source is how it is read now rather than
	// the account itself: the account's passwordeval (SecretCommand), or
	// its netrc entry (SecretNetrc). The outbox stores a reference to the
	// account instead (SecretConfig, see Stored), so that the account is
	// read again at delivery, and an error reading it says Source
	// SecretConfig, as the delivery of the queued item would. Like Name,
	// it is not stored and is no part of IsZero.
	Config bool
}

// envName reports whether ref can be the name of an environment variable
// (SecretEnv): not empty, no '=' and no blank. Anything else is most
// likely the secret itself, given where its variable's name belongs, and
// must not be echoed in a message.
func envName(ref string) bool {
	return ref != "" && !strings.ContainsAny(ref, "= \t\r\n")
}

// IsZero reports whether r names no secret.
func (r SecretRef) IsZero() bool { return r.Source == "" && r.Ref == "" }

// describe names where r's secret comes from, for messages (which end up
// in the outbox's last error and the log line): the setting or flag that
// gave it, a variable's name or a file's path, never a command line (it
// may hold a secret of its own). A failing command's standard error is
// kept out of messages too (runSecretCommand): it may print secrets.
func (r SecretRef) describe(what string) string {
	switch {
	case r.Name != "" && r.Source == SecretFile:
		return r.Name + " " + r.Ref
	case r.Name != "":
		return r.Name
	case r.Source == SecretEnv:
		return "the environment variable " + r.Ref
	case r.Source == SecretFile:
		return "the file " + r.Ref
	case r.Source == SecretConfig:
		return "account " + r.Ref + " of the configuration file"
	}
	return "the " + what + " command"
}

// Which of an Account's secrets an *Error is about (Error.Secret).
const (
	SecretPassword    = "password"     // Auth.Secret: the password or OAuth2 token
	SecretPFXPassword = "PFX password" // Client.PFXPassword
)

// Addr returns host:port, with Port's default filled in.
func (a *Account) Addr() string {
	port := a.Port
	if port == 0 {
		port = 587
		if a.Mode == smtp.Implicit {
			port = 465
		}
	}
	return net.JoinHostPort(a.Host, strconv.Itoa(port))
}

// FromConfig builds the Account of a configuration file's account (as
// config.Load returns it; file is that file's path, "" for an account read
// from no file, such as msmtp's EMAIL and SMTPSERVER one). Its secret is
// where the password is read for a message sent now: a passwordeval is run
// (SecretCommand, named "passwordeval (FILE)"), a password written in the
// file is read from the account again (SecretConfig: the Account never
// holds it; a Connector given the account in Loaded takes it from there
// rather than read the file, and its eval lines, twice), and with neither, netrc is looked up by host and user as
// msmtp does (SecretNetrc). With a file, the passwordeval and netrc
// references are marked SecretRef.Config: the outbox stores the account
// instead (Stored), so that a password changed, added or moved to netrc
// by the time of delivery is used. A tls_fingerprint is a
// *config.Error. Relative
// file names stay as the file gives them (config.Load resolves ~). msmtp's
// %H, %C and %M left in domain (config.Account.Expand not called) are
// expanded here in this process's environment, so that EHLO never says
// "%H"; a mailname file (beside config.DefaultSystemFile) that cannot be
// read for %M is a *config.Error.
func FromConfig(file string, c *config.Account) (Account, error) {
	if strings.Contains(c.Domain, "%") {
		d, err := expandDomain(context.Background(), c, nil)
		if err != nil {
			return Account{}, err
		}
		c = c.Clone()
		c.Domain = d
	}
	a := Account{
		ConfigFile: file,
		Name:       c.Name,
		Host:       c.Host,
		ConfigHost: c.Host,
		Port:       c.ServerPort(),
		Provider:   c.Provider,
		LocalName:  c.Domain,
		Timeout:    c.Timeout,
	}
	if l := (Log{File: c.LogFile, TimeFormat: c.LogTimeFormat, Syslog: c.Syslog}); !l.IsZero() {
		a.Log = l
	}
	switch {
	case !c.TLS:
		a.Mode = smtp.None
	case c.StartTLS:
		a.Mode = smtp.StartTLS
	default:
		a.Mode = smtp.Implicit
	}
	// A tls_fingerprint is refused even beside tls_trust_file or tls_pin:
	// msmtp checks the fingerprint, and delivering on the other settings
	// alone would check something the file did not ask for.
	if len(c.Fingerprint) > 0 {
		return Account{}, &config.Error{File: c.File, Line: c.Line, Key: "tls_fingerprint",
			Msg: fmt.Sprintf("account %s: tls_fingerprint (a hash of the whole certificate) is not supported", c.Name),
			Fix: "pin the key instead with tls_pin sha256/BASE64 (the server's certificate report lists it), or use tls_trust_file"}
	}
	if c.TrustFile != "system" {
		a.Trust.CAFile = c.TrustFile
	}
	a.Trust.Pins = slices.Clone(c.Pin)
	a.Trust.ServerName = c.TLSHostOverride
	a.Trust.Revocation = c.Revocation
	a.Trust.CRLFile = c.CRLFile
	a.Trust.Insecure = c.TLS && !c.CertCheck
	a.Client.CertFile, a.Client.KeyFile = c.CertFile, c.KeyFile
	if c.Auth != "" && c.User != "" {
		a.Auth.User = c.User
		a.Auth.Mechanism = "AUTO"
		if c.Auth != "on" {
			a.Auth.Mechanism = strings.ToUpper(c.Auth)
		}
		a.Auth.Secret = configSecretRef(file, c)
	}
	if err := c.Check(); err != nil {
		return Account{}, err
	}
	return a, nil
}

// configSecretRef is the reference to the password of c, an account of
// the configuration file file ("" for none), as FromConfig describes it.
func configSecretRef(file string, c *config.Account) SecretRef {
	switch {
	case c.PasswordEval != "" && c.Set["passwordeval"].CommandLine:
		// Given on the command line (msmtp's --passwordeval), not in the
		// file: reading the account again would give the file's
		// password, so the command itself is the reference.
		return SecretRef{Source: SecretCommand, Ref: c.PasswordEval, Name: "passwordeval (command line)"}
	case c.PasswordEval != "" && file != "":
		return SecretRef{Source: SecretCommand, Ref: c.PasswordEval, Name: "passwordeval (" + file + ")", Config: true}
	case c.PasswordEval != "":
		// No file to read the account again from: the command itself is
		// the reference.
		return SecretRef{Source: SecretCommand, Ref: c.PasswordEval, Name: "passwordeval"}
	case c.Password != "":
		// Read from the file again (with its permission check): the
		// Account holds no secret. With no file, there is nothing to
		// read it from: Check refuses the Account.
		return SecretRef{Source: SecretConfig, Ref: c.Name}
	}
	// No password: msmtp looks in ~/.netrc and the system netrc for
	// machine host, login user.
	return SecretRef{Source: SecretNetrc, Config: file != ""}
}

// Stored returns the Account as the outbox stores it (Enqueue does this):
// its file names absolute (a queue runner may start elsewhere, see
// AbsPaths), the messages' names of its secrets dropped, and the secret of
// a configuration account that has a file (SecretRef.Config) a reference
// to the account itself (SecretConfig), read again at delivery. A secret
// that cannot be read again is left as it is, for Check (and Enqueue) to
// refuse: none at all for a user (IsZero), or SecretConfig with no
// ConfigFile (a password written in an account read from no file).
func (a Account) Stored() Account {
	a.Auth.Secret = a.storedSecret()
	a.Client.PFXPassword.Name = ""
	a.AbsPaths()
	return a
}

// storedSecret is the reference to the password that the outbox keeps:
// a SecretRef.Config secret becomes the account's (SecretConfig), and
// nothing that is not stored (Name, Config) is kept.
func (a *Account) storedSecret() SecretRef {
	r := a.Auth.Secret
	if r.Config && a.ConfigFile != "" {
		return SecretRef{Source: SecretConfig, Ref: a.Name}
	}
	return SecretRef{Source: r.Source, Ref: r.Ref}
}

// AbsPaths makes the Account's file names absolute, relative to the
// current directory, so that a queue runner started elsewhere finds them.
func (a *Account) AbsPaths() {
	for _, p := range []*string{&a.ConfigFile, &a.Trust.CAFile, &a.Trust.CRLFile, &a.Client.CertFile, &a.Client.KeyFile, &a.Client.PFXFile} {
		*p = absPath(*p)
	}
	if a.Log.File != "-" {
		a.Log.File = absPath(a.Log.File)
	}
	for _, r := range []*SecretRef{&a.Auth.Secret, &a.Client.PFXPassword} {
		if r.Source == SecretFile || (r.Source == SecretNetrc && r.Ref != "") {
			r.Ref = absPath(r.Ref)
		}
	}
}

// absPath makes p absolute ("" stays "").
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// wire is the JSON form of an Account, as the outbox stores it. Its field
// names are those of the outbox's former Settings (tlsmail up to this
// version wrote items with them), so that an item queued before Account
// existed decodes into an Account unchanged; the client identity's store and
// PFX fields are new.
type wire struct {
	ConfigFile string `json:"config_file,omitempty"`
	ConfigHost string `json:"config_host,omitempty"`
	Account    string `json:"account,omitempty"`

	Host        string   `json:"host"`
	Port        int      `json:"port"`
	TLS         string   `json:"tls,omitempty"`
	TrustFile   string   `json:"trust_file,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`
	Pins        []string `json:"pins,omitempty"`
	Insecure    bool     `json:"insecure,omitempty"`
	ServerName  string   `json:"server_name,omitempty"`
	CertFile    string   `json:"cert_file,omitempty"`
	KeyFile     string   `json:"key_file,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	Revocation  string   `json:"revocation,omitempty"`
	CRLFile     string   `json:"crl_file,omitempty"`

	CertStore      string     `json:"cert_store,omitempty"`
	CertThumbprint string     `json:"cert_thumbprint,omitempty"`
	CertSubject    string     `json:"cert_subject,omitempty"`
	PFXFile        string     `json:"pfx_file,omitempty"`
	PFXPassword    wireSecret `json:"pfx_password,omitzero"`

	Auth   string     `json:"auth,omitempty"`
	User   string     `json:"user,omitempty"`
	Secret wireSecret `json:"secret,omitzero"`

	Domain  string        `json:"domain,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`

	// msmtp's log (Account.Log): new with it, and only written when set,
	// so that an item without a log stays readable by an earlier tlsmail.
	LogFile       string `json:"logfile,omitempty"`
	LogTimeFormat string `json:"logfile_time_format,omitempty"`
	Syslog        string `json:"syslog,omitempty"`

	// Extra was the former Settings' map of settings the outbox did not
	// interpret; tlsmail never wrote it. An Account refuses an item that
	// has one rather than deliver it without what it says.
	Extra map[string]string `json:"extra,omitempty"`
}

type wireSecret struct {
	Source string `json:"source,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

// MarshalJSON encodes the Account in the outbox's item format, its
// password as Stored refers to it.
func (a Account) MarshalJSON() ([]byte, error) {
	secret := a.storedSecret()
	w := wire{
		ConfigFile: a.ConfigFile, Account: a.Name, ConfigHost: a.ConfigHost,
		Host: a.Host, Port: a.Port, TLS: string(a.Mode),
		TrustFile: a.Trust.CAFile, Fingerprint: a.Trust.Fingerprint, Pins: a.Trust.Pins,
		Insecure: a.Trust.Insecure, ServerName: a.Trust.ServerName, Revocation: string(a.Trust.Revocation),
		CRLFile:  a.Trust.CRLFile,
		CertFile: a.Client.CertFile, KeyFile: a.Client.KeyFile,
		CertStore: a.Client.Store, CertThumbprint: a.Client.Thumbprint, CertSubject: a.Client.Subject,
		PFXFile: a.Client.PFXFile, PFXPassword: wireSecret{string(a.Client.PFXPassword.Source), a.Client.PFXPassword.Ref},
		Provider: a.Provider,
		User:     a.Auth.User, Secret: wireSecret{string(secret.Source), secret.Ref},
		Domain: a.LocalName, Timeout: a.Timeout,
	}
	if !a.Log.IsZero() {
		w.LogFile, w.LogTimeFormat, w.Syslog = a.Log.File, a.Log.TimeFormat, a.Log.Syslog
	}
	if w.TrustFile == "" {
		w.TrustFile = "system" // as Settings wrote it
	}
	if a.Auth.User != "" {
		w.Auth = a.Auth.Mechanism
		if w.Auth == "" || strings.EqualFold(w.Auth, "auto") {
			w.Auth = "on"
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes an Account written by MarshalJSON, or the settings
// of an item queued by an earlier tlsmail.
func (a *Account) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Extra) > 0 {
		return fmt.Errorf("the item carries settings tlsmail does not know (extra: %d)", len(w.Extra))
	}
	*a = Account{
		ConfigFile: w.ConfigFile, Name: w.Account, ConfigHost: w.ConfigHost,
		Host: w.Host, Port: w.Port, Mode: smtp.TLSMode(w.TLS),
		Trust: Trust{CAFile: w.TrustFile, Pins: w.Pins, ServerName: w.ServerName,
			Revocation: trust.RevocationMode(w.Revocation), Insecure: w.Insecure, Fingerprint: w.Fingerprint,
			CRLFile: w.CRLFile},
		Client: ClientIdentity{CertFile: w.CertFile, KeyFile: w.KeyFile,
			Store: w.CertStore, Thumbprint: w.CertThumbprint, Subject: w.CertSubject,
			PFXFile: w.PFXFile, PFXPassword: SecretRef{Source: SecretSource(w.PFXPassword.Source), Ref: w.PFXPassword.Ref}},
		Provider:  w.Provider,
		LocalName: w.Domain,
		Timeout:   w.Timeout,
		Log:       Log{File: w.LogFile, TimeFormat: w.LogTimeFormat, Syslog: w.Syslog},
	}
	if a.Trust.CAFile == "system" {
		a.Trust.CAFile = ""
	}
	if w.User != "" {
		a.Auth = Auth{User: w.User, Mechanism: strings.ToUpper(w.Auth),
			Secret: SecretRef{Source: SecretSource(w.Secret.Source), Ref: w.Secret.Ref}}
		if a.Auth.Mechanism == "" || a.Auth.Mechanism == "ON" {
			a.Auth.Mechanism = "AUTO"
		}
	}
	return nil
}

// Key is the Account's canonical JSON: what the outbox stores as an item's
// settings and groups items by, so that items with equal keys are
// delivered over one connection.
func (a *Account) Key() string {
	b, _ := a.MarshalJSON()
	return string(b)
}

// Check reports what makes the Account unusable before any file is read
// or any connection made: no host, an unknown TLS mode, a secret source it
// cannot read again (SecretConfig with no ConfigFile among them), a
// Trust.ServerName that is no host name, an EHLO name that cannot be sent
// (smtp.CheckLocalName), a user name with a line break, an unknown SASL
// mechanism, a user without a password source, a password sent without
// TLS when the mechanism is not named (see Plaintext).
func (a *Account) Check() error {
	bad := func(field, msg, fix string) error {
		return &Error{Field: field, Msg: msg, Fix: fix}
	}
	switch {
	case a.Host == "":
		return bad("host", "no server host", "set the account's host")
	case a.Port < 0 || a.Port > 65535:
		return bad("port", fmt.Sprintf("port %d is out of range", a.Port), "give a port from 1 to 65535")
	}
	switch a.Mode {
	case "", smtp.StartTLS, smtp.Implicit, smtp.None:
	default:
		return bad("tls", fmt.Sprintf("unknown TLS mode %q", a.Mode), "use implicit, starttls or none")
	}
	for _, r := range []SecretRef{a.Auth.Secret, a.Client.PFXPassword} {
		switch r.Source {
		case "", SecretEnv, SecretFile, SecretCommand, SecretConfig, SecretNetrc:
		default:
			return bad("secret", fmt.Sprintf("unknown secret source %q", r.Source),
				"name where the secret comes from (env, file, command, config or netrc), never the secret")
		}
		if r.Source == SecretEnv && !envName(r.Ref) {
			return bad("secret", "secret source env needs a variable name", "give the name of the environment variable, not its value")
		}
	}
	if a.Auth.Secret.Source == SecretConfig && a.ConfigFile == "" {
		// A password written in an account read from no file: there is
		// nothing to read it from (queued, it would wait until it
		// expired).
		return bad("secret", "the password is a configuration account's, but the account names no configuration file to read it from",
			"name the configuration file the account is in, or another password source")
	}
	if strings.ContainsFunc(a.Trust.ServerName, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
		// No certificate names it: every delivery would fail the
		// same way, and a queued item keeps the name.
		return bad("server_name", fmt.Sprintf("the name to verify the certificate against, %q, is not a host name", a.Trust.ServerName),
			"give a DNS name or an IP address")
	}
	if err := smtp.CheckLocalName(a.LocalName); err != nil {
		// Refused before the message is queued: Classify defers a
		// KindConfig failure, and the item keeps this name, so it
		// would wait until it expired with nothing able to cure it.
		var se *smtp.Error
		errors.As(err, &se)
		return &Error{Field: "local_name", Msg: se.Err.Error(), Fix: se.Fix, Err: err}
	}
	if err := a.Client.check(a.Provider); err != nil {
		return err
	}
	if a.Auth.User == "" && !a.Auth.Secret.IsZero() {
		// Without a user there is no login: the secret would be ignored
		// and the message sent unauthenticated.
		return bad("user", "the account names a password source but no user to log in as",
			"give the user name, or drop the password source to send without logging in")
	}
	if a.Auth.User != "" {
		if err := a.Auth.Check(); err != nil {
			return err
		}
		if a.Auth.Secret.IsZero() {
			return bad("secret", "the account authenticates as "+a.Auth.User+" but names no password source",
				"name where the password comes from (env, file, command or config), never the password")
		}
		if a.Mode == smtp.None && !a.Plaintext() {
			return bad("auth", "the account would send its password without TLS",
				"use TLS (starttls or implicit), or name the mechanism to send the password in clear text over a connection you trust")
		}
	}
	return nil
}

// Error is an Account that cannot be used as it is. Field names the
// setting (host, port, tls, secret, user, ca, client_cert, ...).
type Error struct {
	Field string
	Msg   string
	Fix   string
	Err   error

	// For a secret that could not be read (Field "secret", "secret_file",
	// "secret_file_mode", "secret_file_read", "secret_command", or a
	// configuration file's "config_file_mode" and "config_file_owner"):
	// Source is the kind of place it was to be read from, and Secret which
	// secret it is (SecretPassword or SecretPFXPassword). A program maps
	// them to its own setting's name (tlsmail's command line: the flag).
	Source SecretSource
	Secret string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// expandDomain is c's domain with msmtp's %H, %C and %M expanded in the
// environment getenv reads (nil: this process's; %M reads "mailname"
// beside the system configuration file, config.SystemFile). A mailname
// file that cannot be read for %M is a *config.Error.
func expandDomain(ctx context.Context, c *config.Account, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	x := config.Search{SystemFile: config.SystemFile(getenv), Getenv: getenv}.Expander()
	c = c.Clone()
	if err := c.Expand(ctx, x, false); err != nil {
		return "", err
	}
	return c.Domain, nil
}
