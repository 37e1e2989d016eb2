package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strings"
	"time"
	"unicode"

	"github.com/tlsmail/tlsmail/internal/regfile"
)

// Expander replaces msmtp's substitution patterns in the from and domain
// commands (msmtp(1), "from" and "domain"): %U is the user name ($USER, else
// $LOGNAME, else the login name), %H the host name ($HOSTNAME, else the
// system's), %C the canonical name of %H, and %M the contents of the
// mailname file (/etc/mailname). %U is expanded in from only. The zero
// value uses the process's environment and the system's resolver, and has
// no mailname file.
type Expander struct {
	// Getenv reads USER, LOGNAME and HOSTNAME; nil means os.Getenv.
	Getenv func(string) string
	// Hostname is the system's host name when HOSTNAME is unset; nil means
	// os.Hostname.
	Hostname func() (string, error)
	// LoginName is the user name when USER and LOGNAME are unset; nil means
	// the current user's (os/user).
	LoginName func() (string, error)
	// Canonical returns the canonical name of a host, as getaddrinfo's
	// AI_CANONNAME does; nil means the system resolver's CNAME lookup. On
	// an error the host name itself is used, as msmtp does.
	Canonical func(ctx context.Context, host string) (string, error)
	// Mailname is the mailname file: msmtp reads "mailname" beside its
	// system configuration file (/etc/mailname). "" means there is none:
	// %M is then an error.
	Mailname string
}

// Expand replaces %U, %H, %C and %M in a's From (when from is true: msmtp
// does so in sendmail mode only; then AutoFrom, if set, makes From
// user@MailDomain) and %H, %C and %M in its Domain, as msmtp
// does once the account is chosen and the command line applied. Control
// characters in what is substituted become '?' (msmtp's sanitize_string).
// A mailname file that cannot be read or is empty is a *Error (msmtp exits
// with EX_CONFIG).
func (a *Account) Expand(ctx context.Context, x Expander, from bool) error {
	d, err := x.expand(ctx, a.Domain, false)
	if err != nil {
		return a.expandError("domain", err)
	}
	a.Domain = d
	if from && a.From != "" {
		// A from is a pattern as written: what %U or %H bring in (a
		// control character made '?') does not make it one.
		if !a.isPattern() {
			a.fromAddress = true
		}
		f, err := x.expand(ctx, a.From, true)
		if err != nil {
			return a.expandError("from", err)
		}
		a.From = f
	}
	if from && a.AutoFrom {
		// msmtp's obsolete auto_from: user@maildomain replaces from,
		// the command line's sender included.
		a.From, a.fromAddress = x.userName(x.getenv()), true
		if a.MailDomain != "" {
			a.From += "@" + a.MailDomain
		}
		// Without maildomain msmtp sends the bare user name, which
		// servers refuse: EnvelopeFrom refuses it (not here, so that
		// what needs no sender, such as listing the queue, still works).
	}
	return nil
}

// OverrideFrom applies the command line's sender (sendmail's -f, msmtp's
// --from, or the address --read-envelope-from found) as msmtp's
// override_account does: it replaces From unless allow_from_override is
// off; "" changes nothing. The sender given is an address, never a
// pattern, whatever it holds ('*', '?' and '[' are legal in a local part).
// Call it before Expand (msmtp expands %U in -f too).
func (a *Account) OverrideFrom(addr string) {
	if addr != "" && a.AllowFromOverride {
		a.From, a.fromAddress = addr, true
	}
}

// isPattern reports whether From is a shell pattern that only picks the
// account (File.ByFrom), not an address to send as.
func (a *Account) isPattern() bool {
	return !a.fromAddress && strings.ContainsAny(a.From, "*?[")
}

func (a *Account) expandError(key string, err error) error {
	line := 0
	if o, ok := a.Set[key]; ok {
		line = o.Line
	}
	return &Error{File: a.File, Line: line, Key: key, Err: err,
		Msg: fmt.Sprintf("account %s: %s: %%M: %v", a.Name, key, err),
		Fix: "write this system's mail domain (such as example.com) on the first line of the mailname file, or write the domain instead of %M"}
}

// expand is msmtp's expand_from_or_domain: which patterns to expand is
// decided on s as written, then %M, %U, %H and %C are replaced in that
// order.
func (x Expander) expand(ctx context.Context, s string, withUser bool) (string, error) {
	getenv := x.getenv()
	hasM, hasU := strings.Contains(s, "%M"), withUser && strings.Contains(s, "%U")
	hasH, hasC := strings.Contains(s, "%H") || strings.Contains(s, "%C"), strings.Contains(s, "%C")
	var m, u, h, c string
	if hasM {
		var err error
		if m, err = x.mailname(); err != nil {
			return "", err
		}
	}
	if hasU {
		u = x.userName(getenv)
	}
	if hasH {
		h = x.hostName(getenv)
	}
	if hasC {
		c = x.canonical(ctx, h)
	}
	if hasM {
		s = strings.ReplaceAll(s, "%M", m)
	}
	if hasU {
		s = strings.ReplaceAll(s, "%U", u)
	}
	if hasH {
		s = strings.ReplaceAll(s, "%H", h)
	}
	if hasC {
		s = strings.ReplaceAll(s, "%C", c)
	}
	return s, nil
}

// getenv is Getenv, or os.Getenv when it is nil.
func (x Expander) getenv() func(string) string {
	if x.Getenv == nil {
		return os.Getenv
	}
	return x.Getenv
}

// maxMailname is what msmtp reads of the mailname file: its first line,
// at most 255 bytes.
const maxMailname = 255

func (x Expander) mailname() (string, error) {
	if x.Mailname == "" {
		return "", errors.New("this system has no mailname file")
	}
	// A regular file only, opened without blocking: a named pipe would
	// wait for a writer, a device such as /dev/zero never ends.
	f, _, err := regfile.Open(x.Mailname, nil)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxMailname))
	if err != nil {
		return "", fmt.Errorf("%s: %w", x.Mailname, err)
	}
	line, _, _ := strings.Cut(string(buf), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("%s: the file is empty", x.Mailname)
	}
	return sanitize(line), nil
}

func (x Expander) userName(getenv func(string) string) string {
	for _, v := range []string{"USER", "LOGNAME"} {
		if u := getenv(v); u != "" {
			return sanitize(u)
		}
	}
	login := x.LoginName
	if login == nil {
		login = func() (string, error) {
			u, err := user.Current()
			if err != nil {
				return "", err
			}
			return u.Username, nil
		}
	}
	if u, err := login(); err == nil && u != "" {
		return sanitize(u)
	}
	return "unknown"
}

func (x Expander) hostName(getenv func(string) string) string {
	if h := getenv("HOSTNAME"); h != "" {
		return sanitize(h)
	}
	hostname := x.Hostname
	if hostname == nil {
		hostname = os.Hostname
	}
	if h, err := hostname(); err == nil && h != "" {
		return sanitize(h)
	}
	return "localhost"
}

func (x Expander) canonical(ctx context.Context, host string) string {
	lookup := x.Canonical
	if lookup == nil {
		lookup = net.DefaultResolver.LookupCNAME
	}
	// A resolver that does not answer must not hold the message up.
	ctx, cancel := context.WithTimeout(ctx, canonicalTimeout)
	defer cancel()
	c, err := lookup(ctx, host)
	c = strings.TrimSuffix(c, ".")
	if err != nil || c == "" {
		return host
	}
	return sanitize(c)
}

// canonicalTimeout bounds the lookup of %C.
const canonicalTimeout = 10 * time.Second

// sanitize replaces control characters by '?', as msmtp's sanitize_string.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// EnvelopeFrom returns the envelope sender for this account when the
// command line gives cmdline (sendmail's -f or msmtp's --from and
// --read-envelope-from; "" for none), as msmtp chooses it: cmdline, unless
// allow_from_override is off, then the account's from. It returns "" when
// neither gives one (the caller then takes it from the message), and a
// *Error when allow_from_override is off and from is not an address (not
// set, or a wildcard pattern), since the command line may not decide then.
// Call Expand first.
func (a *Account) EnvelopeFrom(cmdline string) (string, error) {
	if a.AutoFrom && a.MailDomain == "" && a.fromAddress && !strings.Contains(a.From, "@") {
		o := a.Set["auto_from"]
		return "", &Error{File: a.File, Line: o.Line, Key: "auto_from",
			Msg: fmt.Sprintf("account %s: auto_from is on but maildomain is not set: the sender would be the bare user name %q", a.Name, a.From),
			Fix: "add maildomain example.com to the account (the sender becomes user@example.com), or replace auto_from with from %U@example.com"}
	}
	if !a.AllowFromOverride {
		line := 0
		if o, ok := a.Set["allow_from_override"]; ok {
			line = o.Line
		}
		switch {
		case a.From == "":
			return "", &Error{File: a.File, Line: line, Key: "allow_from_override",
				Msg: fmt.Sprintf("account %s: allow_from_override is off but the account has no from address (msmtp: envelope-from address is missing)", a.Name),
				Fix: "add `from ADDRESS` to the account (such as from %U@example.com), or remove allow_from_override off"}
		case a.isPattern():
			return "", &Error{File: a.File, Line: line, Key: "allow_from_override",
				Msg: fmt.Sprintf("account %s: allow_from_override is off but from %q is a pattern, not an address", a.Name, a.From),
				Fix: "write one address after from, or remove allow_from_override off"}
		}
		return a.From, nil
	}
	if cmdline != "" {
		return cmdline, nil
	}
	if a.isPattern() {
		// A pattern only picks the account (File.ByFrom).
		return "", nil
	}
	return a.From, nil
}
