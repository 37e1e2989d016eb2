package submit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// ItemPolicy is what a Connector accepts of an Account it did not build
// itself: the settings of an item read from a store that others can write
// (outbox.Store.Shared: the PostgreSQL queue, which every application
// host that may enqueue writes). Such settings say where a password comes
// from and where it goes; taken as they are, one written by a compromised
// application host would make every runner run its command, read any file
// or environment variable of the runner, and send the runner's passwords
// to a server of its choosing, over plain text or with verification off.
// The zero ItemPolicy trusts the Account (a program's own Account, or an
// item of the runner's own spool directory).
type ItemPolicy struct {
	// Shared says the Accounts come from a shared store. Their secrets
	// (the password and the PFX password) may then come only from the
	// runner's own configuration:
	//   - SecretConfig: an account of a configuration file, and only
	//     while the item's server, port, TLS mode, TLS provider, user,
	//     SASL mechanism and certificate trust are the account's as the
	//     file says now (a row cannot redirect the account's password);
	//   - SecretNetrc: msmtp's netrc files of the runner, looked up by
	//     the item's host and user (the entry names the machine the
	//     password is for), over TLS verified with the system's roots
	//     for the host's own name (the netrc says nothing of how to
	//     verify it; a row cannot choose it either).
	// A client certificate (its key is a credential too) is presented
	// only as the configuration account the item names (ConfigFile,
	// Name) has it, and only under the same checks as SecretConfig,
	// unless Secrets lists SecretFile (its files are files; a Windows
	// certificate store entry is not).
	// A Timeout over maxSharedTimeout (10 minutes) is shortened to it.
	// A secret of source SecretEnv, SecretFile or SecretCommand is refused
	// unless Secrets lists its source. A refused item is checked before
	// anything is read (no command runs, no file is opened): Plan returns
	// an *Error of Field "queued_settings", which Classify defers (fixing
	// the runner's configuration heals it).
	Shared bool
	// Secrets are the sources, among SecretEnv, SecretFile and
	// SecretCommand, that an item of a shared store may name anyway: the
	// runner's operator vouches for every host that can enqueue
	// (`tlsmail queue run --queue-secrets env,file,command`). Empty by
	// default.
	Secrets []SecretSource
	// Own are the keys (Account.Key) of Accounts the program queued itself
	// in this run (`send --queue` delivering its own message at once):
	// an item whose settings are one of them is the program's own and is
	// trusted as such.
	Own []string
}

// ParseSecretSources parses a comma-separated list of the secret sources
// a runner accepts from a shared store's items (ItemPolicy.Secrets): env,
// file and command. Anything else is an *Error of Field "queue_secrets".
func ParseSecretSources(s string) ([]SecretSource, error) {
	var out []SecretSource
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch src := SecretSource(f); src {
		case "":
		case SecretEnv, SecretFile, SecretCommand:
			if !slices.Contains(out, src) {
				out = append(out, src)
			}
		case SecretConfig, SecretNetrc:
			return nil, &Error{Field: "queue_secrets", Msg: fmt.Sprintf("secret source %q is always accepted from a shared queue (with its checks); it needs no opt-in", f),
				Fix: "list only env, file or command"}
		default:
			return nil, &Error{Field: "queue_secrets", Msg: fmt.Sprintf("unknown secret source %q", f),
				Fix: "list some of env, file and command, separated by commas"}
		}
	}
	return out, nil
}

// forStore returns c, or a copy of it whose Policy is Shared when q is a
// shared store (outbox.Store.Shared: others write its items as well): a
// runner never forgets it.
func (c *Connector) forStore(q outbox.Store) *Connector {
	if c.Policy.Shared || !q.Shared() {
		return c
	}
	cc := *c
	cc.Policy.Shared = true
	return &cc
}

// effectiveMode is the TLS mode a's connection uses (Plan's default for
// "": implicit on port 465, else STARTTLS).
func effectiveMode(a *Account) smtp.TLSMode {
	if a.Mode != "" {
		return a.Mode
	}
	if a.Port == 465 {
		return smtp.Implicit
	}
	return smtp.StartTLS
}

// sharedItem reports whether a is an item of a shared store that c.Policy
// holds to its rules: not one this process queued itself (Own).
func (c *Connector) sharedItem(a *Account) bool {
	p := c.Policy
	return p.Shared && !(len(p.Own) > 0 && slices.Contains(p.Own, a.Key()))
}

// timeoutFor is a's Timeout, or smtp.DefaultTimeout when it has none;
// for a shared store's item at most maxSharedTimeout, whatever the item
// asks (a row cannot hold a worker's slot for ever; an account's own long
// timeout is shortened, not refused).
func (c *Connector) timeoutFor(a *Account) time.Duration {
	t := a.Timeout
	if t <= 0 {
		t = smtp.DefaultTimeout
	}
	if c.sharedItem(a) && t > maxSharedTimeout {
		t = maxSharedTimeout
	}
	return t
}

// checkShared refuses an Account of a shared store that c.Policy does not
// accept (see ItemPolicy), before any of its secrets is read.
func (c *Connector) checkShared(ctx context.Context, a *Account) error {
	if !c.sharedItem(a) {
		return nil
	}
	p := c.Policy
	refs := []struct {
		what string
		r    SecretRef
	}{{SecretPassword, a.Auth.Secret}, {SecretPFXPassword, a.Client.PFXPassword}}
	// The sources refused outright first: their refusal says what to do
	// whatever else the item gets wrong.
	for _, s := range refs {
		if s.r.IsZero() || (s.what == SecretPassword && a.Auth.User == "") {
			continue
		}
		switch s.r.Source {
		case SecretEnv, SecretFile, SecretCommand:
			if !slices.Contains(p.Secrets, s.r.Source) {
				fix := "queue the message through a configuration account of the runner (source config) or netrc, or, if every host that can write the queue is trusted as much as the runner, have the runner accept secrets of source " + string(s.r.Source) + " from the queue"
				return &Error{Field: "queued_settings", Source: s.r.Source, Secret: s.what, Fix: fix,
					Msg: fmt.Sprintf("the queued item takes its %s from %s (source %s), which a runner of a shared queue does not read for an item others could have written: not read, nothing sent: %s",
						s.what, s.r.describe(s.what), s.r.Source, fix)}
			}
		}
	}
	var checkedConfig []string // account names
	checkedNetrc := false
	for _, s := range refs {
		if s.r.IsZero() || (s.what == SecretPassword && a.Auth.User == "") {
			continue
		}
		switch s.r.Source {
		case SecretConfig:
			// Each account named is checked (the password's and the
			// PFX password's may be two).
			if !slices.Contains(checkedConfig, s.r.Ref) {
				if err := c.checkConfigItem(ctx, a, s.r.Ref, s.what); err != nil {
					return err
				}
				checkedConfig = append(checkedConfig, s.r.Ref)
			}
		case SecretNetrc:
			if checkedNetrc {
				continue
			}
			if err := checkNetrcItem(a, s.r, s.what); err != nil {
				return err
			}
			checkedNetrc = true
		}
	}
	// The client certificate's key is a credential as the password is (a
	// server that takes the certificate relays the mail): it is presented
	// only as the configuration account the item names has it, to that
	// account's server, verified its way.
	if !a.Client.IsZero() && !p.clientFilesOptedIn(a.Client) {
		if a.ConfigFile == "" || a.Name == "" {
			const fix = "queue the message through the configuration account of the runner whose tls_cert_file it is, or, if every host that can write the queue is trusted as much as the runner, have the runner accept secrets of source file from the queue"
			return &Error{Field: "queued_settings", Source: SecretConfig, Secret: secretClientCert, Fix: fix,
				Msg: fmt.Sprintf("the queued item presents the client certificate %s but names no configuration account of this runner that has it: a runner of a shared queue presents its client certificate only as its configuration says; not read, nothing sent: %s",
					describeClient(a.Client), fix)}
		}
		if err := c.checkConfigItem(ctx, a, a.Name, secretClientCert); err != nil {
			return err
		}
	}
	return nil
}

// maxSharedTimeout bounds the Timeout of a shared store's item: RFC 5321
// section 4.5.3.2's longest wait (10 minutes, for the reply to the end of
// the data). The runner renews its lease on an item while the delivery
// runs, so a row with a timeout of years and a server that never answers
// would hold one of its delivery slots until it is killed.
const maxSharedTimeout = 10 * time.Minute

// clientFilesOptedIn reports whether the runner accepts the client
// identity ci from any item: its files (PEM, PFX) under the opt-in for
// SecretFile, which lets items have any file read. A certificate store
// entry is no file: never.
func (p ItemPolicy) clientFilesOptedIn(ci ClientIdentity) bool {
	return slices.Contains(p.Secrets, SecretFile) && ci.Store == "" && ci.Thumbprint == "" && ci.Subject == ""
}

// secretClientCert is Error.Secret of a refused client certificate.
const secretClientCert = "client certificate"

// describeClient names a client identity, for messages.
func describeClient(c ClientIdentity) string {
	switch {
	case c.IsZero():
		return ""
	case c.CertFile != "":
		return c.CertFile
	case c.PFXFile != "":
		return c.PFXFile
	case c.Thumbprint != "":
		return c.Store + " " + c.Thumbprint
	}
	return c.Store + " " + c.Subject
}

// keyFileOf is the file c's key is read from (KeyFile "" means CertFile).
func keyFileOf(c ClientIdentity) string {
	if c.KeyFile == "" {
		return c.CertFile
	}
	return c.KeyFile
}

// checkNetrcItem refuses a netrc secret of a shared store's item that
// names a file of its own, or whose connection is weaker than TLS
// verified with the system's roots for the host's own name.
func checkNetrcItem(a *Account, r SecretRef, what string) error {
	var why []string
	if r.Ref != "" {
		why = append(why, "it names its own netrc file "+r.Ref)
	}
	if effectiveMode(a) == smtp.None {
		why = append(why, "it connects without TLS")
	}
	if a.Trust.Insecure {
		why = append(why, "it turns certificate verification off")
	}
	if a.Trust.CAFile != "" {
		why = append(why, "it trusts the CA file "+a.Trust.CAFile+" instead of the system's roots")
	}
	if a.Trust.Revocation == trust.RevocationOff {
		why = append(why, "it turns the revocation check off")
	}
	if a.Trust.ServerName != "" && !sameName(a.Trust.ServerName, a.Host) {
		why = append(why, "it verifies the certificate for "+a.Trust.ServerName+", not for "+a.Host)
	}
	if len(why) == 0 {
		return nil
	}
	const fix = "queue the message through a configuration account of the runner (source config), whose file says how to verify the server"
	return &Error{Field: "queued_settings", Source: SecretNetrc, Secret: what, Fix: fix,
		Msg: fmt.Sprintf("the queued item takes its %s from netrc for %s, but %s: a runner of a shared queue sends a netrc password only over TLS verified with the system's roots; not read, nothing sent: %s",
			what, a.Host, strings.Join(why, ", and "), fix)}
}

// checkConfigItem refuses a SecretConfig secret of a shared store's item
// whose settings differ from the configuration account it names as the
// runner's file says now: another server or port, a weaker TLS mode,
// another TLS provider, verification turned off, other trust settings,
// another user. The account's password is for the account's server,
// verified the account's way, only.
func (c *Connector) checkConfigItem(ctx context.Context, a *Account, name, what string) error {
	ca, err := c.itemConfigAccount(ctx, a.ConfigFile, name)
	if err != nil {
		return err
	}
	want, err := FromConfig(a.ConfigFile, ca)
	if err != nil {
		return err
	}
	want.AbsPaths()
	var diff []string
	differs := func(setting, item, account string) {
		if item == "" {
			item = "none"
		}
		if account == "" {
			account = "none"
		}
		diff = append(diff, fmt.Sprintf("%s %s (the account: %s)", setting, item, account))
	}
	if !sameName(a.Host, want.Host) {
		differs("host", a.Host, want.Host)
	}
	am, wm := effectiveMode(a), effectiveMode(&want)
	if ap, wp := portOf(a), portOf(&want); ap != wp {
		differs("port", fmt.Sprint(ap), fmt.Sprint(wp))
	}
	if am != wm && wm != smtp.None {
		differs("tls", string(am), string(wm))
	}
	// The TLS provider chooses the verifier: Schannel verifies with the
	// Windows roots and crypt32's revocation check, crypto/tls with
	// package trust's (the account's CA file, CRLs, OCSP).
	if ap, wp := providerOf(a), providerOf(&want); ap != wp {
		differs("TLS provider", ap, wp)
	}
	if a.Trust.Insecure && !want.Trust.Insecure {
		differs("certificate check", "off", "on")
	}
	if !samePath(a.Trust.CAFile, want.Trust.CAFile) {
		differs("trust file", a.Trust.CAFile, want.Trust.CAFile)
	}
	if !slices.Equal(sortedCopy(a.Trust.Pins), sortedCopy(want.Trust.Pins)) {
		differs("pins", strings.Join(a.Trust.Pins, ","), strings.Join(want.Trust.Pins, ","))
	}
	if !sameName(a.Trust.ServerName, want.Trust.ServerName) {
		differs("TLS name", a.Trust.ServerName, want.Trust.ServerName)
	}
	if a.Trust.Revocation != want.Trust.Revocation {
		differs("revocation", string(a.Trust.Revocation), string(want.Trust.Revocation))
	}
	if !samePath(a.Trust.CRLFile, want.Trust.CRLFile) {
		differs("CRL file", a.Trust.CRLFile, want.Trust.CRLFile)
	}
	// The account's client certificate, and no other of the runner's
	// (unless the runner lets items have any file read).
	switch ac, wc := a.Client, want.Client; {
	case c.Policy.clientFilesOptedIn(ac):
	case !samePath(ac.CertFile, wc.CertFile):
		differs("client certificate", ac.CertFile, wc.CertFile)
	case !samePath(keyFileOf(ac), keyFileOf(wc)):
		differs("client key", keyFileOf(ac), keyFileOf(wc))
	case !samePath(ac.PFXFile, wc.PFXFile) || ac.Store != wc.Store || ac.Thumbprint != wc.Thumbprint || ac.Subject != wc.Subject:
		differs("client certificate", describeClient(ac), describeClient(wc))
	}
	if what == SecretPassword && a.Auth.User != want.Auth.User {
		differs("user", a.Auth.User, want.Auth.User)
	}
	// The account's way of logging in: one that keeps the password from
	// the server (SCRAM-SHA-256, CRAM-MD5) must not become PLAIN, nor a
	// password a bearer token.
	if what == SecretPassword && !strings.EqualFold(mechOf(a), mechOf(&want)) {
		differs("auth mechanism", mechOf(a), mechOf(&want))
	}
	if len(diff) == 0 {
		return nil
	}
	fix := fmt.Sprintf("if the item is genuine, give account %s in %s the item's settings back, or send the message again through the account as it is now and remove the queued item; an item no host of yours queued means someone else can write the queue: see who can INSERT into it", name, a.ConfigFile)
	return &Error{Field: "queued_settings", Source: SecretConfig, Secret: what, Fix: fix,
		Msg: fmt.Sprintf("the queued item takes its %s from account %s of %s but differs from that account as the file says now: %s; the account's %s goes to its own server, verified its own way, only: not read, nothing sent: %s",
			what, name, a.ConfigFile, strings.Join(diff, "; "), what, fix)}
}

// itemConfigAccount is configAccount for the file and account a shared
// store's item names. Any file of the runner's user passes the owner
// check, a password file or a key among them, and the parser's error for
// a line (an "unknown command" names the line's first word) would carry
// the file's content into the item's error, which the queue stores and
// 'queue list' and the runner's output show: such an error names the file
// and the line only.
func (c *Connector) itemConfigAccount(ctx context.Context, file, name string) (*config.Account, error) {
	ca, err := c.configAccount(ctx, file, name)
	var ce *config.Error
	if err != nil && errors.As(err, &ce) && ce.Line > 0 {
		fix := "if " + file + " is the runner's configuration file, list the queue on the runner with that file to see what is wrong with it; an item no host of yours queued means someone else can write the queue: see who can INSERT into it"
		return nil, &Error{Field: "queued_settings", Source: SecretConfig, Fix: fix,
			Msg: fmt.Sprintf("the queued item names account %s of the configuration file %s, which does not read as one (line %d; not shown, as the file is the item's choice): nothing sent: %s",
				name, file, ce.Line, fix)}
	}
	return ca, err
}

// sameName reports whether the host names a and b are the same name: equal
// but for ASCII case (RFC 4343). strings.EqualFold folds more (the Kelvin
// sign U+212A is k to it), which would let a row name another host.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// mechOf is a's SASL mechanism, "" being AUTO.
func mechOf(a *Account) string {
	if a.Auth.Mechanism == "" {
		return "AUTO"
	}
	return strings.ToUpper(a.Auth.Mechanism)
}

// providerOf is the name of the TLS provider a's connection uses:
// a.Provider, "" being "go" as Plan has it (the default on every
// platform).
func providerOf(a *Account) string {
	if a.Provider == "" {
		return "go"
	}
	return a.Provider
}

// portOf is a's port, its default filled in as Addr does.
func portOf(a *Account) int {
	if a.Port != 0 {
		return a.Port
	}
	if effectiveMode(a) == smtp.Implicit {
		return 465
	}
	return 587
}

func samePath(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// ItemLog returns the log settings (Account.Log) to write an item's log
// line with. An item of a shared store chooses a file the runner appends
// to (and the line holds addresses the item chose: in a shell start-up
// file or a crontab, a command): under a Shared Policy its log settings are
// used only when they are those of the configuration account it names, as
// the runner's file says now (or it is the program's own, Policy.Own).
// Otherwise nothing is written and the error says why.
func (c *Connector) ItemLog(ctx context.Context, a *Account) (Log, error) {
	p := c.Policy
	if !p.Shared || a.Log.IsZero() || (len(p.Own) > 0 && slices.Contains(p.Own, a.Key())) {
		return a.Log, nil
	}
	refuse := func(why string) (Log, error) {
		const fix = "set the log in the runner's configuration account the items name (logfile, syslog), the only log settings a shared queue's item may ask for"
		return Log{}, &Error{Field: "queued_settings", Fix: fix,
			Msg: fmt.Sprintf("the queued item asks for its log line to go to %s, but %s: not written: %s", describeLog(a.Log), why, fix)}
	}
	if a.ConfigFile == "" || a.Name == "" {
		return refuse("it names no configuration account of this runner that says so")
	}
	ca, err := c.itemConfigAccount(ctx, a.ConfigFile, a.Name)
	if err != nil {
		return Log{}, err
	}
	want, err := FromConfig(a.ConfigFile, ca)
	if err != nil {
		return Log{}, err
	}
	want.AbsPaths()
	if !samePath(a.Log.File, want.Log.File) || a.Log.TimeFormat != want.Log.TimeFormat || a.Log.Syslog != want.Log.Syslog {
		return refuse(fmt.Sprintf("account %s of %s says %s", a.Name, a.ConfigFile, describeLog(want.Log)))
	}
	return a.Log, nil
}

// describeLog names where l's lines go, for messages.
func describeLog(l Log) string {
	var w []string
	if l.File != "" {
		w = append(w, "the file "+l.File)
	}
	if l.Syslog != "" && l.Syslog != "off" {
		w = append(w, "syslog ("+l.Syslog+")")
	}
	if len(w) == 0 {
		return "no log"
	}
	return strings.Join(w, " and ")
}
