// Package config reads tlsmail's configuration file, which uses msmtp's
// format so that an existing ~/.msmtprc works unchanged.
//
// # Syntax (as msmtp 1.8 reads it)
//
// The file is read line by line. Blank lines and lines whose first
// non-blank character is '#' are ignored; a '#' later in a line is part of
// the argument. Every other line is a command, then blanks (spaces or tabs),
// then an optional argument that runs to the end of the line. Leading and
// trailing blanks of the argument are removed, and if what remains starts
// and ends with a double quote those two quotes are removed (there are no
// escape sequences: `user "a\"b"` sets the user to `a\"b`). A line may hold
// at most 499 characters. Commands are case-sensitive. A file name that
// starts with '~' has the '~' replaced by the home directory. A command that
// takes on/off also takes an empty argument, meaning on.
//
// `defaults` starts a section whose settings fill every account defined
// after it. `account NAME` starts an account; `account NAME : A[,B...]`
// makes it inherit the settings that A, B, ... set themselves (in that
// order, later parents winning), on top of the current defaults. Parents
// must be defined earlier in the same file. `account default : NAME` names
// the account used when none is chosen. Commands before the first
// `account` or `defaults` line belong to an account called "default" (msmtp
// 1.2 compatibility). `eval CMD` replaces its own line by the first line
// CMD prints (see Options.Eval).
//
// tlsmail reads every msmtp command (see Keys and IgnoredKeys), plus its
// own: tls_pin, tls_provider, queue_dir, queue_url and revocation. Note that msmtp
// rejects a file that uses tlsmail's own commands.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/trust"
)

// Error is a configuration problem: a syntax error, an unknown command, a
// bad argument, an account that cannot be used. The command-line tool exits
// with status 78 (EX_CONFIG) on it.
type Error struct {
	// File is the configuration file, when there is one.
	File string
	// Line is the 1-based line number, or 0 when the problem is not tied to
	// a line (a missing file, an incomplete account).
	Line int
	// Key is the command involved, if any.
	Key string
	// Msg says what is wrong.
	Msg string
	// Fix says what to do about it.
	Fix string
	// Err is the underlying error, if any (a file that cannot be read).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	if e.Fix != "" {
		b.WriteString(" (")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Origin says where an account's setting came from.
type Origin struct {
	// Line is the line of the command that set it.
	Line int
	// Defaults is true when the value came from a `defaults` section rather
	// than from the account itself or one of its parents. Only settings with
	// Defaults false are inherited by `account X : PARENT` (as in msmtp).
	Defaults bool
	// CommandLine is true when the value came from the command line
	// (Account.Override), not from the file: reading the file again does
	// not give it.
	CommandLine bool
}

// Account is one account of the file, with every inherited and default value
// filled in.
type Account struct {
	// Name is the account's name; File and Line where it was defined.
	Name string
	File string
	Line int

	// Host is the SMTP server (host name or address); required.
	Host string
	// Port is the server's port, 0 when not set; see ServerPort.
	Port int
	// TLS enables TLS; StartTLS selects STARTTLS (RFC 3207, the default)
	// rather than implicit TLS (RFC 8314 section 3).
	TLS      bool
	StartTLS bool
	// TrustFile is "system" (the default: the system's roots), a PEM file of
	// trusted CAs, or "" for no CA trust at all (then Fingerprint or Pin must
	// say what to trust).
	TrustFile string
	// CRLFile is msmtp's tls_crl_file ('~' expanded): certificate
	// revocation lists (PEM or DER) checked besides the online sources
	// (trust.Options.CRLs); "" for none.
	CRLFile string
	// Fingerprint is the server certificate's fingerprint from
	// tls_fingerprint: 32 bytes (SHA-256), or for msmtp compatibility 20
	// (SHA-1) or 16 (MD5). When set it replaces CA trust.
	Fingerprint []byte
	// CertFile and KeyFile are a client certificate and its key (PEM).
	CertFile, KeyFile string
	// CertCheck is false when tls_certcheck is off: the server certificate
	// is not verified (tlsmail still reports it).
	CertCheck bool
	// Auth is "" (off, the default), "on" (choose a mechanism), or a
	// lower-case mechanism name such as "plain" or "scram-sha-256".
	Auth string
	// User, Password and PasswordEval are the credentials; PasswordEval is a
	// command whose first output line is the password (see RunCommand).
	User         string
	Password     string
	PasswordEval string
	// From is the envelope sender; it may be a shell wildcard pattern used
	// only to pick the account (see File.ByFrom). msmtp's %U, %H, %C and %M
	// are left as written by the parser: Expand replaces them.
	From string
	// AllowFromOverride is allow_from_override (default true): when
	// false, the envelope sender is From whatever the command line's -f
	// says (see EnvelopeFrom). As in msmtp it comes from the defaults
	// section, never from a parent account.
	AllowFromOverride bool
	// SetFromHeader, SetDateHeader and SetMsgIDHeader are msmtp's
	// set_from_header, set_date_header and set_msgid_header: "auto" (the
	// default: add the field when the message lacks it), "off" (never
	// add it), and for From also "on" (always write From from the
	// envelope sender, replacing the message's).
	SetFromHeader, SetDateHeader, SetMsgIDHeader string
	// RemoveBcc is remove_bcc_headers (default true): Bcc fields are
	// removed from the message (RFC 5322 section 3.6.3).
	RemoveBcc bool
	// AutoFrom and MailDomain are msmtp's obsolete auto_from and
	// maildomain: with AutoFrom, Expand makes From the user name (%U)
	// at MailDomain (the bare user name when MailDomain is empty), in
	// sendmail mode, after the command line's sender, as msmtp does.
	AutoFrom   bool
	MailDomain string
	// UndisclosedRecipients is undisclosed_recipients: the message's To,
	// Cc and Bcc fields are replaced by "To: undisclosed-recipients:;".
	UndisclosedRecipients bool
	// Domain is the EHLO argument; "localhost" by default. msmtp's %H,
	// %C and %M are left as written by the parser: Expand replaces them.
	Domain string
	// Timeout is the network timeout; 0 means none was set.
	Timeout time.Duration
	// TLSHostOverride, when set, is the name the certificate is verified
	// against instead of Host.
	TLSHostOverride string

	// Pin lists SPKI pins ("sha256/BASE64") from tls_pin (tlsmail).
	Pin []string
	// Provider is the TLS provider name from tls_provider (tlsmail).
	Provider string
	// QueueDir is the outbox directory from queue_dir (tlsmail).
	QueueDir string
	// QueueURL is the PostgreSQL outbox from queue_url (tlsmail).
	QueueURL string
	// Revocation is the revocation policy from revocation (tlsmail).
	Revocation trust.RevocationMode

	// Aliases is the aliases file (the aliases command, '~' expanded), ""
	// for none: see LoadAliases.
	Aliases string
	// LogFile is msmtp's logfile: a file name ('~' expanded), "-" for
	// standard output, or "" for none. LogTimeFormat is
	// logfile_time_format, a strftime(3) format ("" for msmtp's default).
	LogFile       string
	LogTimeFormat string
	// Syslog is the syslog command: "" or "off" for none, "on" for
	// LOG_USER, or a facility name (LOG_USER, LOG_MAIL, LOG_LOCAL0..7).
	Syslog string

	// DSNNotify and DSNReturn ask for delivery status notifications (RFC
	// 3461), as msmtp sends them: DSNNotify is dsn_notify in upper case
	// ("FAILURE,DELAY", "NEVER"), the NOTIFY= of every recipient;
	// DSNReturn is dsn_return as MAIL's RET= ("HDRS" for headers, or
	// "FULL"). "" (off, the default) asks for nothing. The sender puts
	// them in the SMTP envelope (smtp.Envelope.DSN); msmtp refuses to send
	// (exit 69) to a server that does not offer DSN when either is set.
	DSNNotify, DSNReturn string

	// Ignored holds the msmtp commands this account sets that tlsmail reads
	// but does not act on (see IgnoredKeys), with their last argument.
	Ignored map[string]string

	// Set records, for every setting given in the file (in the account, a
	// parent, or a defaults section), where it came from. Keys are command
	// names; aliases are recorded under their main name (connect_timeout
	// as timeout, tls_nocertcheck as tls_certcheck, keepbcc as
	// remove_bcc_headers, add_missing_*_header as set_*_header).
	Set map[string]Origin

	// raw keeps the argument of each set command, for inheritance.
	raw map[string]string
	// fromAddress is set when From is the sender itself, never a pattern
	// (see EnvelopeFrom): the command line's (OverrideFrom), or the
	// expansion of a from written without '*', '?' or '['.
	fromAddress bool
}

// IsSet reports whether key was given in the file for this account
// (directly, through a parent, or through defaults).
func (a *Account) IsSet(key string) bool {
	_, ok := a.Set[key]
	return ok
}

// ServerPort is Port when set, else msmtp's default: 465 for implicit TLS,
// 25 otherwise.
func (a *Account) ServerPort() int {
	if a.Port != 0 {
		return a.Port
	}
	if a.TLS && !a.StartTLS {
		return 465
	}
	return 25
}

// ServerName is the name the server certificate is verified against.
func (a *Account) ServerName() string {
	if a.TLSHostOverride != "" {
		return a.TLSHostOverride
	}
	return a.Host
}

// Clone returns a deep copy of a, safe to modify (command-line overrides).
func (a *Account) Clone() *Account {
	n := *a
	n.Fingerprint = slices.Clone(a.Fingerprint)
	n.Pin = slices.Clone(a.Pin)
	n.Ignored = maps.Clone(a.Ignored)
	n.Set = maps.Clone(a.Set)
	n.raw = maps.Clone(a.raw)
	return &n
}

// Check reports whether the account can be used to send, as msmtp checks
// an account once it has been chosen and the command line applied: a host
// is set, client certificate and key come together, and TLS has something
// to trust. The error is a *Error naming the account.
func (a *Account) Check() error {
	fail := func(key, msg, fix string) error {
		return &Error{File: a.File, Line: a.Line, Key: key,
			Msg: fmt.Sprintf("account %s: %s", a.Name, msg), Fix: fix}
	}
	switch {
	case a.Host == "":
		return fail("host", "host not set", "add a `host` line to the account")
	case a.KeyFile != "" && a.CertFile == "":
		return fail("tls_key_file", "tls_key_file requires tls_cert_file", "add tls_cert_file with the client certificate")
	case a.CertFile != "" && a.KeyFile == "":
		return fail("tls_cert_file", "tls_cert_file requires tls_key_file", "add tls_key_file with the client certificate's key")
	case a.TLS && a.CertCheck && a.TrustFile == "" && len(a.Fingerprint) == 0 && len(a.Pin) == 0:
		return fail("tls_trust_file", "tls requires either tls_trust_file (highly recommended) or tls_fingerprint or a disabled tls_certcheck",
			"set `tls_trust_file system` to trust the system's CAs")
	case unsupportedAuth(a.Auth):
		return a.keyError("auth", fmt.Sprintf("auth %s is not supported by tlsmail", a.Auth),
			"use auth on (the strongest mechanism the server offers), or plain, login, cram-md5 or scram-sha-256")
	}
	// Commands msmtp honours and tlsmail cannot: refused, never ignored
	// (RefusedKeys). In key order, so the error is the same every time.
	for _, key := range slices.Sorted(maps.Keys(a.Ignored)) {
		if msg, fix, ok := refused(key, a.Ignored[key]); ok {
			return a.keyError(key, msg, fix)
		}
	}
	return nil
}

// keyError is an *Error about the command key of account a, at the line
// that set it.
func (a *Account) keyError(key, msg, fix string) error {
	line := a.Line
	if o, ok := a.Set[key]; ok && o.Line > 0 {
		line = o.Line
	} else if ok {
		// Set by Override (the command line): the file has no such
		// line to point at or to remove.
		return &Error{Key: key, Msg: fmt.Sprintf("account %s: %s (set on the command line)", a.Name, msg),
			Fix: strings.Replace(fix, "remove the line", "leave it off the command line", 1)}
	}
	return &Error{File: a.File, Line: line, Key: key, Msg: fmt.Sprintf("account %s: %s", a.Name, msg), Fix: fix}
}

// File is a parsed configuration file.
type File struct {
	// Path is the file's name as given to Parse or Load.
	Path string
	// Accounts are the accounts in the order they were defined.
	Accounts []*Account
}

// Account returns the account called name; an empty name means "default",
// as msmtp does when no account is chosen.
func (f *File) Account(name string) (*Account, error) {
	if name == "" {
		name = "default"
	}
	for _, a := range f.Accounts {
		if a.Name == name {
			return a, nil
		}
	}
	fix := "define it with `account " + name + "`"
	if name == "default" {
		fix = "choose an account, or add `account default : NAME` to the file"
	}
	if len(f.Accounts) > 0 {
		fix += "; accounts in the file: " + strings.Join(f.Names(), ", ")
	}
	return nil, &Error{File: f.Path, Msg: fmt.Sprintf("account %s not found", name), Fix: fix, Err: ErrAccountNotFound}
}

// ErrAccountNotFound is wrapped by the *Error of an account the file does
// not define (File.Account, and File.Select with no from that matches).
var ErrAccountNotFound = errors.New("account not found")

// Names lists the accounts in file order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Accounts))
	for _, a := range f.Accounts {
		names = append(names, a.Name)
	}
	return names
}

// ByFrom returns the first account, in file order, whose from matches addr
// as msmtp's -f does: a from containing '*', '?' or '[' is a shell pattern
// matched case-sensitively (fnmatch), any other from is compared without
// regard to case. It returns nil when no account matches.
func (f *File) ByFrom(addr string) *Account {
	for _, a := range f.Accounts {
		if a.From == "" {
			continue
		}
		if strings.ContainsAny(a.From, "*?[") {
			if fnmatch(a.From, addr) {
				return a
			}
		} else if strings.EqualFold(a.From, addr) {
			return a
		}
	}
	return nil
}

// Select chooses the account as msmtp does: the named one when name is set;
// else the first whose from matches the envelope sender from (when given);
// else the account called "default". The caller applies its command-line
// overrides to a Clone and then calls Check.
func (f *File) Select(name, from string) (*Account, error) {
	if name != "" {
		return f.Account(name)
	}
	if from != "" {
		if a := f.ByFrom(from); a != nil {
			return a, nil
		}
	}
	return f.Account("default")
}

// CheckHost reports whether the account's host can name a server at all
// (see Check for the rest). msmtp accepts any host text in the file and
// exits 68 (EX_NOHOST) when it sends; a sender that queues must refuse it
// first, or the message waits in the queue for a host that never
// resolves. The error is a *Error naming the file, or SMTPSERVER for the
// environment's account (EnvAccount).
func (a *Account) CheckHost() error {
	if a.Host == "" || validHost(a.Host) {
		return nil
	}
	fix := "write the server's host name or IP address alone (the port goes on a `port` line)"
	if a.File == "" && a.Name == "environment" {
		fix = "set SMTPSERVER to the server's host name alone (msmtp uses port 25, no TLS, for it), or write a configuration file"
	}
	return &Error{File: a.File, Line: a.Line, Key: "host",
		Msg: fmt.Sprintf("account %s: %q is not a host name or an IP address", a.Name, a.Host), Fix: fix}
}

// validHost reports whether h can name a server: an IP address, or a name
// without blanks, control characters, '/', '@' or ':' that does not start
// with '-'. A "host:port" there (SMTPSERVER=mail.example.com:587) was
// taken for a name that never resolves: the message then waited in the
// outbox for ever, where msmtp exits 68 (EX_NOHOST).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	return h[0] != '-' && !strings.ContainsFunc(h, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("/@:[]", r)
	})
}
