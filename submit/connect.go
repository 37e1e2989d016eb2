package submit

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/secchan/gotls"
	"github.com/tlsmail/tlsmail/smtp"
)

// Connector turns Accounts into connections: it loads the CA file and the
// client certificate, picks the TLS provider, and reads the secret when a
// connection is about to be made. The zero Connector uses crypto/tls, the
// process environment and smtp.DialTCP.
type Connector struct {
	// Providers offers the TLS implementations by name; nil means
	// crypto/tls ("go") only.
	Providers *secchan.Registry
	// Getenv reads environment variables (SecretEnv, and HOME for a
	// configuration file's ~); nil means os.Getenv.
	Getenv func(string) string
	// DialContext makes the TCP connection; nil means smtp.DialTCP.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// CRLCache keeps the parsed CRL files (tls_crl_file); nil means
	// DefaultCRLCache(), the one the whole process shares.
	CRLCache *CRLCache
	// Loaded are configuration accounts the program has read already
	// (config.Load, config.Search.Select), each naming its File: a
	// SecretConfig reference to one of them (the same file and account
	// name) takes the password or passwordeval from it instead of
	// reading the file again, which would run the file's eval commands a
	// second time (msmtp runs them once per message: a prompt, a side
	// effect, the time they take). Any other account's file is read
	// again. Nothing of them is stored: an item keeps its reference only.
	Loaded []*config.Account
	// Policy is what Plan accepts of the Accounts it is given; the zero
	// value trusts them. RunPass (and so Worker) makes it Shared for a
	// store others can write (outbox.Store.Shared).
	Policy ItemPolicy

	// reads, when set (a RunPass's copy), keeps the configuration files
	// read in the pass, so that each is read once (configReads).
	reads *configReads
}

// loaded is the account of c.Loaded that file's account name is, or nil.
func (c *Connector) loaded(file, name string) *config.Account {
	if file == "" {
		return nil
	}
	for _, ca := range c.Loaded {
		if ca != nil && ca.File != "" && ca.Name == name && filepath.Clean(absPath(ca.File)) == filepath.Clean(absPath(file)) {
			return ca
		}
	}
	return nil
}

// maxPEMFile bounds a CA or client certificate file; a system's whole CA
// bundle is a few hundred KB.
const maxPEMFile = 16 << 20

// maxSecretBytes bounds what is read from a password file or command.
const maxSecretBytes = 64 << 10

func (c *Connector) getenv(k string) string {
	if c.Getenv != nil {
		return c.Getenv(k)
	}
	return os.Getenv(k)
}

// Plan checks a and resolves it into a Plan: the address, the CA pool,
// the client certificate and the provider, without network traffic and
// without reading any secret (Plan.Authenticate reads them, later: the
// password, and a PFX file's password with the file). Errors are *Error
// naming the field.
func (c *Connector) Plan(ctx context.Context, a *Account) (*Plan, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	// Before anything the Account names is read: an item of a shared
	// store chooses no secret source or server the runner does not
	// vouch for.
	if err := c.checkShared(ctx, a); err != nil {
		return nil, err
	}
	mode := a.Mode
	if mode == "" {
		mode = smtp.StartTLS
		if a.Port == 465 {
			mode = smtp.Implicit
		}
	}
	acct := *a
	acct.Mode = mode
	if a.Trust.Fingerprint != "" {
		return nil, &Error{Field: "fingerprint", Msg: "the account pins a certificate fingerprint, which tlsmail does not support",
			Fix: "pin the server's key instead (an SPKI pin, sha256/BASE64)"}
	}
	providers := c.Providers
	if providers == nil {
		providers = &secchan.Registry{}
		providers.Register(gotls.Provider{})
	}
	name := providerOf(a)
	prov, err := providers.Lookup(name)
	if err != nil {
		return nil, &Error{Field: "provider", Msg: fmt.Sprintf("unknown TLS provider %q", name), Err: err,
			Fix: "use one of: " + strings.Join(providers.Names(), ", ")}
	}
	tcfg := &secchan.Config{ServerName: a.Trust.ServerName, Insecure: a.Trust.Insecure}
	if tcfg.ServerName == "" {
		tcfg.ServerName = a.Host
	}
	tcfg.Trust.Pins = a.Trust.Pins
	tcfg.Trust.Revocation = a.Trust.Revocation
	if a.Trust.CAFile != "" {
		if tcfg.Trust.Roots, err = LoadCAFile(a.Trust.CAFile); err != nil {
			return nil, err
		}
	}
	if a.Trust.CRLFile != "" {
		if tcfg.Trust.CRLs, err = c.crlCache().Load(a.Trust.CRLFile); err != nil {
			return nil, err
		}
	}
	if a.Client.CertFile != "" {
		cert, err := LoadKeyPair(a.Client.CertFile, a.Client.KeyFile)
		if err != nil {
			return nil, err
		}
		tcfg.Certificates = []tls.Certificate{cert}
	}
	if prov, err = c.applyIdentity(&acct, prov); err != nil {
		return nil, err
	}
	timeout := c.timeoutFor(a)
	localName := a.LocalName
	if strings.Contains(localName, "%") {
		// An item queued before msmtp's %H %C %M were expanded when the
		// message was accepted (or an Account written by hand): expand
		// them here, so that EHLO never says "%H".
		d := config.NewAccount(a.Name)
		d.Domain = localName
		if localName, err = expandDomain(ctx, d, c.getenv); err != nil {
			return nil, err
		}
	}
	p := &Plan{Addr: acct.Addr(), Config: smtp.Config{
		Mode:        mode,
		Provider:    prov,
		TLS:         tcfg,
		LocalName:   localName,
		Timeout:     timeout,
		DialContext: c.DialContext,
	}}
	pfx := a.Client.PFXFile != ""
	if a.Auth.User != "" || pfx {
		p.Authenticate = func(ctx context.Context) error {
			if pfx {
				if err := c.loadPFX(ctx, &acct, tcfg); err != nil {
					return err
				}
			}
			if a.Auth.User == "" {
				return nil
			}
			pw, err := c.Secret(ctx, &acct, a.Auth.Secret)
			if err != nil {
				return err
			}
			mech := strings.ToUpper(a.Auth.Mechanism)
			if mech == "" {
				mech = "AUTO"
			}
			p.Config.Auth = &smtp.Auth{Mechanism: mech, Username: a.Auth.User, Password: pw, AllowPlaintext: acct.Plaintext()}
			return nil
		}
	}
	return p, nil
}

// Config is Plan followed by its Authenticate: the smtp.Config of a
// connection to a's server, the secret read. Pass it to smtp.Dial with
// a.Addr().
func (c *Connector) Config(ctx context.Context, a *Account) (*smtp.Config, error) {
	p, err := c.Plan(ctx, a)
	if err != nil {
		return nil, err
	}
	if p.Authenticate != nil {
		if err := p.Authenticate(ctx); err != nil {
			return nil, err
		}
	}
	return &p.Config, nil
}

// Secret reads the password (or token) r names, for account a (whose
// ConfigFile a SecretConfig reference reads again, and whose Timeout bounds
// a command). It is the one reader of secrets, for the command line as for
// delivery from the outbox. Its errors never hold the secret, nor a
// command's output; an *Error among them has Source r.Source (SecretConfig
// when r.Config is set) and Secret SecretPassword, so that a program can name its own setting for it.
func (c *Connector) Secret(ctx context.Context, a *Account, r SecretRef) (string, error) {
	return c.secret(ctx, a, r, SecretPassword)
}

// secret reads the secret r names; what is SecretPassword or
// SecretPFXPassword, for messages and Error.Secret.
func (c *Connector) secret(ctx context.Context, a *Account, r SecretRef, what string) (string, error) {
	pw, err := c.readSecret(ctx, a, r, what)
	var se *Error
	if errors.As(err, &se) {
		se.Source, se.Secret = r.Source, what
		if r.Config {
			// A configuration account's passwordeval or netrc entry: the
			// account is the source, as for its queued items.
			se.Source = SecretConfig
		}
	}
	return pw, err
}

func (c *Connector) readSecret(ctx context.Context, a *Account, r SecretRef, what string) (string, error) {
	fail := func(msg, fix string, err error) (string, error) {
		return "", &Error{Field: "secret", Msg: msg, Fix: fix, Err: err}
	}
	var pw string
	switch r.Source {
	case SecretEnv:
		if !envName(r.Ref) {
			// Not a name: the secret itself, perhaps; never repeated.
			from := "the " + what + "'s environment variable"
			if r.Name != "" {
				from = r.Name
			}
			return fail(from+" is not the name of an environment variable (it is empty, or holds '=' or a blank)",
				"give the name of the variable that holds the "+what+", not its value", nil)
		}
		if pw = c.getenv(r.Ref); pw == "" {
			from := ""
			if r.Name != "" {
				from = " (from " + r.Name + ")"
			}
			return fail(fmt.Sprintf("the environment variable %s%s is empty or not set", r.Ref, from),
				"export "+r.Ref+" with the "+what+", or name another variable", nil)
		}
		return pw, nil
	case SecretFile:
		var err error
		if pw, err = readSecretFile(r.Ref); err != nil {
			return "", err
		}
	case SecretCommand:
		timeout := c.timeoutFor(a)
		name := r.Name
		if name == "" {
			name = what
		}
		var err error
		if pw, err = runSecretCommand(ctx, r.Ref, timeout, name); err != nil {
			return "", err
		}
	case SecretConfig:
		return c.configSecret(ctx, a, r.Ref)
	case SecretNetrc:
		return c.netrcSecret(a, r.Ref)
	default:
		return fail(fmt.Sprintf("the account authenticates as %s but names no %s source (%q)", a.Auth.User, what, r.Source),
			"name where the "+what+" comes from: env, file, command or config", nil)
	}
	if pw == "" {
		return fail("the "+what+" from "+r.describe(what)+" is empty", "put the "+what+" on the first line", nil)
	}
	return pw, nil
}

// runSecretCommand runs cmd through config.RunCommand (sh -c, or cmd /C
// on Windows; no input and no terminal, so a prompt must come from an
// agent) and returns the first line it printed; name names the command in
// messages ("the NAME command failed"). The command is killed, with every
// process it started, at timeout (0: no limit but ctx's). A failure is an
// *Error of Field "secret_command" wrapping the command's error, and also
// context.DeadlineExceeded when it did not finish in time. Its message
// holds neither the command line nor anything the command printed
// (standard output or error); the wrapped *config.CommandError keeps the
// start of its standard error for a program to show on a terminal.
func runSecretCommand(ctx context.Context, cmd string, timeout time.Duration, name string) (string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	line, err := config.RunCommand(ctx, cmd)
	if err == nil {
		return line, nil
	}
	if ctx.Err() != nil {
		return "", &Error{Field: "secret_command", Err: errors.Join(err, ctx.Err()),
			Msg: "the " + name + " command did not finish in time (" + ctx.Err().Error() + ")",
			Fix: "check that the command does not wait for input, or raise the account's timeout"}
	}
	if errors.Is(err, config.ErrFirstLineTooLong) {
		return "", &Error{Field: "secret_command", Err: err,
			Msg: fmt.Sprintf("the first line the %s command printed is longer than %d KiB", name, maxSecretBytes>>10),
			Fix: "make the command print the secret alone on its first line"}
	}
	// The message names the command by name only: it goes into the
	// outbox's last error and the log line, and the command line may hold
	// a secret of its own. Its standard error stays in the wrapped
	// *config.CommandError, for the terminal only.
	why := "failed"
	var ce *config.CommandError
	if errors.As(err, &ce) {
		why = "failed: " + ce.Err.Error()
		if ce.Err == config.ErrNoOutput {
			why = "printed nothing"
		}
	}
	var ee *exec.ExitError
	fix := "run the command by hand to see why it fails"
	if !errors.As(err, &ee) {
		fix = "check that the shell and the command exist, and that it prints the " + name + " on its first line"
	}
	return "", &Error{Field: "secret_command", Err: err, Msg: fmt.Sprintf("the %s command %s", name, why), Fix: fix}
}

// configSecret reads the password of account name in a.ConfigFile again
// (or takes the account from c.Loaded, read already): its passwordeval is
// run, or its password used if the file is readable by its owner only;
// with neither, the netrc files are looked up (as msmtp does,
// netrcSecret). Nothing is read from a file someone else could have
// written (checkCommandFile): its commands would be run.
func (c *Connector) configSecret(ctx context.Context, a *Account, name string) (string, error) {
	ca, err := c.configAccount(ctx, a.ConfigFile, name)
	if err != nil {
		return "", err
	}
	if ca.PasswordEval != "" || ca.Password != "" {
		// The account's password is its host's: not sent to another
		// one because the account was edited after this item was
		// queued (netrc, below, is looked up by the item's host).
		want := a.ConfigHost
		if want == "" {
			want = a.Host
		}
		if want != "" && !strings.EqualFold(ca.Host, want) {
			return "", &Error{Field: "secret",
				Msg: fmt.Sprintf("account %s of %s now names host %s, not %s as when this message was queued: its password is not sent to %s",
					name, a.ConfigFile, ca.Host, want, a.Host),
				Fix: "send the message again through the account as it is now and remove the queued item, or give the account its former host back"}
		}
	}
	switch {
	case ca.PasswordEval != "":
		return c.Secret(ctx, a, SecretRef{Source: SecretCommand, Ref: ca.PasswordEval, Name: "passwordeval (" + a.ConfigFile + ")"})
	case ca.Password != "":
		if err := c.CheckConfigPassword(a.ConfigFile); err != nil {
			return "", err
		}
		return ca.Password, nil
	}
	// No password in the account now (moved to ~/.netrc, say): msmtp
	// looks in the netrc files, for the item's host and user, as
	// FromConfig would have had it look for a fresh message.
	return c.netrcSecret(a, "")
}

// configAccount is account name of the configuration file file, from
// c.Loaded, or as the pass read it already (c.reads: once per pass), or
// read again; a file someone else could have written is refused
// (checkCommandFile) before it is read.
func (c *Connector) configAccount(ctx context.Context, file, name string) (*config.Account, error) {
	if ca := c.loaded(file, name); ca != nil {
		return ca, nil
	}
	read := func(ctx context.Context) (*config.File, error) {
		if err := checkCommandFile(file); err != nil {
			return nil, err
		}
		return config.Load(ctx, file, config.Options{Home: config.Home(c.getenv), Eval: config.RunCommand})
	}
	var f *config.File
	var err error
	if c.reads != nil {
		f, err = c.reads.load(ctx, file, read)
	} else {
		f, err = read(ctx)
	}
	if err != nil {
		return nil, err
	}
	return f.Account(name)
}

// netrcSecret looks the password of a's user on a's host up in the netrc
// file ref, or in msmtp's netrc files when ref is "" (the user's, then
// the system's), as msmtp does: a file that cannot be opened (missing,
// permission denied, a directory or anything but a regular file) is
// skipped, and so is a file whose first entry for the machine and login
// has no password (the next file is read). The file whose entry is used
// must not be readable by other users (CheckPasswordFile; the system one
// may be group-readable as /etc/msmtprc may): an *Error of Field
// "netrc_file_mode". No password anywhere, or a file that cannot be parsed,
// is an *Error of Field "netrc" that names what was skipped.
func (c *Connector) netrcSecret(a *Account, ref string) (string, error) {
	files, sys := []string{ref}, ""
	if ref == "" {
		sys = config.SystemFile(c.getenv)
		files = config.NetrcFiles(config.Home(c.getenv), sys)
	}
	var skipped []string // why a file gave no password, for the error
	for i, path := range files {
		f, _, err := openRegular(path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				skipped = append(skipped, fmt.Sprintf("%s was skipped (%v)", path, err))
			}
			continue
		}
		entries, err := config.ParseNetrc(f)
		f.Close()
		if err != nil {
			return "", &Error{Field: "netrc", Err: err, Msg: fmt.Sprintf("cannot read the netrc file %s: %v", path, err),
				Fix: "fix the file, or give the account a passwordeval"}
		}
		e, ok := config.LookupNetrc(entries, a.Host, a.Auth.User)
		if !ok {
			continue
		}
		if e.Password == "" {
			skipped = append(skipped, fmt.Sprintf("the entry for machine %s login %s in %s has no password", a.Host, a.Auth.User, path))
			continue
		}
		system := ref == "" && sys != "" && i == len(files)-1
		if err := CheckPasswordFile(path, system); err != nil {
			var me *Error
			if errors.As(err, &me) {
				fix := me.Fix
				if !system {
					fix = "run: chmod 600 " + path + " (a file holding passwords must be readable by you only), or give the account a passwordeval"
				}
				return "", &Error{Field: "netrc_file_mode", Msg: me.Msg, Fix: fix}
			}
			return "", err
		}
		return e.Password, nil
	}
	where := strings.Join(files, " or ")
	if where == "" {
		where = "no netrc file (no home directory)"
	}
	msg := fmt.Sprintf("the account authenticates as %s but gives no password, and %s has no password for machine %s login %s", a.Auth.User, where, a.Host, a.Auth.User)
	if len(skipped) > 0 {
		msg += ": " + strings.Join(skipped, "; ")
	}
	return "", &Error{Field: "netrc", Msg: msg,
		Fix: fmt.Sprintf("give the account a passwordeval (a command printing the password), or add 'machine %s login %s password ...' to ~/.netrc (chmod 600)", a.Host, a.Auth.User)}
}

// CheckConfigPassword is CheckPasswordFile for the configuration file path,
// which holds a password: the system file (config.SystemFile) may be read by its group, any other by its
// owner only. Its error is an *Error of Field "config_file_mode".
func (c *Connector) CheckConfigPassword(path string) error {
	sys := config.SystemFile(c.getenv)
	return CheckPasswordFile(path, sys != "" && filepath.Clean(sys) == filepath.Clean(path))
}

// checkCommandFile refuses a file whose content can make delivery run a
// command (a configuration file's passwordeval and eval) when someone else
// could have written it, by the rule config.Load holds the file to
// (config.CheckOwner: it must belong to the user running the delivery or
// to root, and be writable by no one else), with the same reason and fix.
// The file is followed if it is a symbolic link. A file that cannot be
// examined is left to its reader to report. The error is an *Error of
// Field "config_file_owner" or "config_file_mode".
func checkCommandFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	d := config.CheckOwner(fi)
	if d == nil {
		return nil
	}
	field := "config_file_mode"
	if d.OtherOwner {
		field = "config_file_owner"
	}
	return &Error{Field: field,
		Msg: fmt.Sprintf("refusing the configuration file %s: it %s, so another user could make it run commands (eval, passwordeval) or send the mail elsewhere", path, d.Why),
		Fix: config.UntrustedFix(path)}
}

// readSecretFile returns the first line of path, refusing a file that is
// not regular (the error wraps message.ErrNotRegular) or that other users
// may read (as ssh does for keys: an *Error of Field "secret_file_mode").
// A file that cannot be opened is an *Error of Field "secret_file"; one
// that cannot be read, of Field "secret_file_read".
func readSecretFile(path string) (string, error) {
	fail := func(field, msg, fix string, err error) (string, error) {
		return "", &Error{Field: field, Msg: msg, Fix: fix, Err: err}
	}
	f, fi, err := openRegular(path)
	if err != nil {
		if errors.Is(err, message.ErrNotRegular) {
			return fail("secret_file", "the password file "+err.Error(),
				"give the path of a regular file readable by you only; for a program's output, use a password command", err)
		}
		return fail("secret_file", fmt.Sprintf("cannot open the password file: %v", err), "check the path of the password file", err)
	}
	defer f.Close()
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fail("secret_file_mode", fmt.Sprintf("the password file %s can be read by other users (mode %04o)", path, fi.Mode().Perm()),
			"make it readable by its owner only: run chmod 600 "+path, nil)
	}
	// Two bytes past the bound: a first line of maxSecretBytes still
	// shows its line ending (\r\n), a longer one is refused rather than
	// cut (its start is not the password).
	line, err := bufio.NewReader(io.LimitReader(f, maxSecretBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fail("secret_file_read", fmt.Sprintf("cannot read the password: %v", err), "", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > maxSecretBytes {
		return fail("secret_file", fmt.Sprintf("the first line of the password file %s is longer than %d KiB", path, maxSecretBytes>>10),
			"put the password alone on the first line of the file", nil)
	}
	return strings.TrimRight(line, "\r"), nil
}

// openRegular opens path as message.OpenFile does (a regular file only,
// and the open never blocks: /dev/zero never ends, a named pipe without a
// writer would block) and returns its FileInfo too. The error wraps
// message.ErrNotRegular when path is something else.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := message.OpenFile(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// readBounded reads the whole regular file path, at most max bytes. It
// reads the files that decide whom tlsmail trusts and who it is (the CA
// file, the client certificate and key): running as root, one that another
// user could have written is refused with an *untrustedFileError (see
// config.Untrusted), checked on the file opened.
func readBounded(path string, max int64) ([]byte, error) {
	f, _, err := openTrusted(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f, path, max)
}

// openTrusted opens the regular file path as readBounded reads it:
// running as root, one that another user could have written is refused.
func openTrusted(path string) (*os.File, os.FileInfo, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		return nil, nil, err
	}
	if os.Geteuid() == 0 {
		if why := config.Untrusted(fi); why != "" {
			f.Close()
			return nil, nil, &untrustedFileError{path: path, why: why}
		}
	}
	return f, fi, nil
}

// readAtMost reads the rest of f (named path), at most max bytes.
func readAtMost(f io.Reader, path string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d MB", path, max>>20)
	}
	return data, nil
}

// untrustedFileError is a file readBounded refused: another user could
// have written it.
type untrustedFileError struct{ path, why string }

func (e *untrustedFileError) Error() string { return e.path + " " + e.why }

// ownerError is the *Error of Field field+"_owner" for a file readBounded
// refused as untrusted, or nil for any other error.
func ownerError(field, what, risk string, err error) error {
	var ue *untrustedFileError
	if !errors.As(err, &ue) {
		return nil
	}
	return &Error{Field: field + "_owner", Err: err,
		Msg: fmt.Sprintf("refusing the %s %s: running as root, and it %s, so another user could %s", what, ue.path, ue.why, risk),
		Fix: config.UntrustedFix(ue.path)}
}

// LoadCAFile reads the PEM certificates of path, to trust instead of the
// system's roots. Running as root, a file another user could have written
// (see config.Untrusted) is an *Error of Field "ca_file_owner": its
// content decides which servers are believed.
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := readBounded(path, maxPEMFile)
	if oe := ownerError("ca_file", "CA file", "add a CA of their choosing and read your mail in transit", err); oe != nil {
		return nil, oe
	}
	if err != nil {
		return nil, &Error{Field: "ca_file", Msg: fmt.Sprintf("cannot read the CA file: %v", err), Err: err,
			Fix: "give the path of a PEM file with the CA certificates"}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &Error{Field: "ca", Msg: fmt.Sprintf("the CA file %s holds no PEM certificate", path),
			Fix: "give a file with one or more -----BEGIN CERTIFICATE----- blocks"}
	}
	return pool, nil
}

// LoadKeyPair reads a client certificate and its key from PEM files
// (keyFile "" means the key is in certFile). A file that cannot be read is
// an *Error of Field "cert_file" or "key_file" (running as root, one that
// another user could have written, of Field "cert_file_owner" or
// "key_file_owner"); a pair that does not parse, of Field "client_cert".
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if keyFile == "" {
		keyFile = certFile
	}
	fail := func(field, msg, fix string, err error) (tls.Certificate, error) {
		return tls.Certificate{}, &Error{Field: field, Msg: msg, Err: err, Fix: fix}
	}
	certPEM, err := readBounded(certFile, maxPEMFile)
	if oe := ownerError("cert_file", "client certificate file", "replace the identity tlsmail presents", err); oe != nil {
		return tls.Certificate{}, oe
	}
	if err != nil {
		return fail("cert_file", fmt.Sprintf("cannot load the client certificate: %v", err), "give the path of a PEM certificate file", err)
	}
	keyPEM, err := readBounded(keyFile, maxPEMFile)
	if oe := ownerError("key_file", "client key file", "replace the identity tlsmail presents", err); oe != nil {
		return tls.Certificate{}, oe
	}
	if err != nil {
		return fail("key_file", fmt.Sprintf("cannot load the client certificate's key: %v", err),
			"give the path of a PEM private key file (or put the key in the certificate's file)", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fail("client_cert", fmt.Sprintf("cannot load the client certificate: %v", err),
			"give a PEM certificate and its PEM private key (or one file holding both)", err)
	}
	return cert, nil
}

// Send connects to a's server, sends one message and quits: Config,
// smtp.Dial and Client.SendAndQuit. The Result holds what the server said
// even when err is not nil (recipients refused, the reply to the data).
func (c *Connector) Send(ctx context.Context, a *Account, env smtp.Envelope, msg io.Reader) (*smtp.Result, error) {
	cfg, err := c.Config(ctx, a)
	if err != nil {
		return nil, err
	}
	cfg.RequireDSN = !env.DSN.IsZero() // checked before AUTH, as msmtp does
	cl, err := smtp.Dial(ctx, a.Addr(), cfg)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.SendAndQuit(ctx, env, msg)
}
