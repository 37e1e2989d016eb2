package config

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tlsmail/tlsmail/internal/regfile"
)

// maxLine is msmtp's line limit: a line (without its newline) must be
// shorter than this.
const maxLine = 500

const lineFix = "shorten the line to at most 499 characters, as msmtp requires"

// Options configures Parse and Load.
type Options struct {
	// Home replaces a leading '~' in file names (tls_trust_file,
	// tls_cert_file, tls_key_file, queue_dir, ...). Empty leaves them as
	// written.
	Home string
	// Eval runs the command of an `eval` line and returns the first line it
	// printed (RunCommand does this with the system shell). When nil, an
	// eval line is an error: reading the file then never runs a command.
	Eval func(ctx context.Context, cmd string) (string, error)
}

// Load reads the configuration file at path. Errors are *Error.
func Load(ctx context.Context, path string, opts Options) (*File, error) {
	// Only a regular file (regfile.Open: checked before the open and on
	// the open file): opening a named pipe without a writer would block,
	// and a device such as /dev/zero never ends.
	f, fi, err := regfile.Open(path, nil)
	var nr *regfile.NotRegularError
	if errors.As(err, &nr) {
		return nil, &Error{File: path, Msg: "the configuration file is " + fileKind(nr.Mode) + ", not a regular file",
			Fix: "give the path of an msmtp-format configuration file"}
	}
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read configuration file: " + errText(err),
			Fix: "check the path of the configuration file", Err: err}
	}
	defer f.Close()
	// fi is now the open file's own (regfile.Open): the owner checked is
	// that of the file read.
	if why := untrusted(fi); why != "" {
		return nil, &Error{File: path, Msg: "refusing the configuration file: it " + why +
			", so another user could make it run commands (eval, passwordeval) or send the mail elsewhere",
			Fix: untrustedFix(path)}
	}
	return Parse(ctx, path, f, opts)
}

// fileKind names what a non-regular file is, for messages.
func fileKind(m os.FileMode) string {
	if k := regfile.Kind(m); k != "" {
		return k
	}
	return "something else"
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse reads a configuration in msmtp's format from r; name is used in
// errors. Errors are *Error with the file and line.
func Parse(ctx context.Context, name string, r io.Reader, opts Options) (*File, error) {
	p := &parser{name: name, opts: opts, file: &File{Path: name}}
	p.defaults = newAccount("", name, 0)
	br := bufio.NewReader(r)
	for lineNo := 1; ; lineNo++ {
		raw, readErr := br.ReadSlice('\n')
		if readErr == bufio.ErrBufferFull {
			return nil, p.errf(lineNo, "", lineFix, "line longer than %d characters", maxLine)
		}
		if readErr != nil && readErr != io.EOF {
			return nil, &Error{File: name, Line: lineNo, Msg: "input error: " + readErr.Error(), Err: readErr}
		}
		if len(raw) == 0 && readErr == io.EOF {
			break
		}
		content := bytes.TrimSuffix(raw, []byte{'\n'})
		if len(content) >= maxLine {
			return nil, p.errf(lineNo, "", lineFix, "line longer than %d characters", maxLine)
		}
		if len(raw) > 0 && raw[len(raw)-1] == '\n' {
			content = bytes.TrimSuffix(content, []byte{'\r'})
		}
		if i := bytes.IndexByte(content, 0); i >= 0 {
			content = content[:i] // C string semantics, as msmtp
		}
		if err := p.line(ctx, lineNo, string(content), true); err != nil {
			return nil, err
		}
		if readErr == io.EOF {
			break
		}
	}
	return p.file, nil
}

type parser struct {
	name     string
	opts     Options
	file     *File
	defaults *Account
	cur      *Account
}

func (p *parser) errf(line int, key, fix, format string, args ...any) *Error {
	return &Error{File: p.name, Line: line, Key: key, Msg: fmt.Sprintf(format, args...), Fix: fix}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// trimArg removes leading and trailing blanks and then one pair of
// enclosing double quotes, as msmtp's trim_string.
func trimArg(s string) string {
	s = strings.Trim(s, " \t")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// split returns the command and argument of a line; cmd is "" for a blank
// or comment line.
func split(line string) (cmd, arg string) {
	i := 0
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	if i == len(line) || line[i] == '#' {
		return "", ""
	}
	j := i
	for j < len(line) && !isBlank(line[j]) {
		j++
	}
	return line[i:j], trimArg(line[j:])
}

func newAccount(name, file string, line int) *Account {
	return &Account{
		Name: name, File: file, Line: line,
		StartTLS:  true,
		CertCheck: true,
		TrustFile: "system",
		Domain:    "localhost",
		// msmtp's defaults (account_new).
		AllowFromOverride: true,
		SetFromHeader:     "auto",
		SetDateHeader:     "auto",
		SetMsgIDHeader:    "auto",
		RemoveBcc:         true,
		Ignored:           map[string]string{},
		Set:               map[string]Origin{},
		raw:               map[string]string{},
	}
}

func (p *parser) line(ctx context.Context, n int, text string, evalOK bool) error {
	cmd, arg := split(text)
	if cmd == "" {
		return nil
	}
	if cmd == "eval" && evalOK {
		if arg == "" {
			return p.errf(n, cmd, "", "command eval needs an argument")
		}
		if p.opts.Eval == nil {
			return p.errf(n, cmd, "replace the eval line by its result, or use passwordeval for a password",
				"eval is not enabled here")
		}
		out, err := p.opts.Eval(ctx, arg)
		if err != nil {
			e := p.errf(n, cmd, "run the command by hand to see why it fails", "cannot read output of '%s'", arg)
			e.Err = err
			return e
		}
		return p.line(ctx, n, out, false)
	}
	if p.cur == nil && cmd != "account" && cmd != "defaults" {
		// msmtp 1.2 compatibility: commands before any account belong to
		// an account called "default".
		if err := p.startAccount(n, "default", nil); err != nil {
			return err
		}
	}
	switch cmd {
	case "defaults":
		if arg != "" {
			return p.errf(n, cmd, "put nothing after defaults", "command defaults does not take an argument")
		}
		p.cur = p.defaults
		return nil
	case "account":
		return p.account(n, arg)
	}
	ckey, carg, err := canonical(cmd, arg)
	if err == nil {
		var known bool
		known, err = applyKey(p.cur, ckey, carg, p.opts.Home)
		if !known {
			return p.unknown(n, cmd)
		}
	}
	if err != nil {
		e := p.errf(n, cmd, "", "%s", err.Error())
		var ae *argError
		if errors.As(err, &ae) {
			e.Fix = ae.fix
		}
		return e
	}
	p.cur.Set[ckey] = Origin{Line: n, Defaults: p.cur == p.defaults}
	p.cur.raw[ckey] = carg
	return nil
}

func (p *parser) unknown(n int, cmd string) error {
	// "password=SECRET" is one word, an unknown command: name only what
	// comes before the "=" (or ":"), since the rest is a password as
	// often as not, and the error is shown, logged and recorded with a
	// queued message whose file is read again at delivery.
	if i := strings.IndexAny(cmd, "=:"); i >= 0 {
		name := cmd[:i]
		return p.errf(n, name, "write "+name+" VALUE, with a blank between the command and its argument",
			"unknown command %s%c... (the rest of the line is not shown)", name, cmd[i])
	}
	fix := "check the spelling; tlsmail reads msmtp's commands plus tls_pin, tls_provider, queue_dir and revocation"
	if lc := strings.ToLower(cmd); lc != cmd {
		ck, ca, err := canonical(lc, "")
		if err == nil {
			if known, _ := applyKey(newAccount("", "", 0), ck, ca, ""); known {
				fix = "commands are lower case: write " + lc
			}
		}
	}
	return p.errf(n, cmd, fix, "unknown command %s", cmd)
}

// account handles `account NAME [: PARENT[,PARENT...]]`.
func (p *parser) account(n int, arg string) error {
	name := arg
	var parents []*Account
	if i := strings.IndexByte(arg, ':'); i >= 0 {
		for _, pn := range strings.Split(arg[i+1:], ",") {
			pn = trimArg(pn)
			if pn == "" {
				return p.errf(n, "account", "write `account NAME : PARENT[,PARENT...]`", "missing account name")
			}
			parent := p.find(pn)
			if parent == nil {
				return p.errf(n, "account", "define the parent account above this line", "account %s not (yet) defined", pn)
			}
			parents = append(parents, parent)
		}
		name = trimArg(arg[:i])
	}
	return p.startAccount(n, name, parents)
}

func (p *parser) find(name string) *Account {
	for _, a := range p.file.Accounts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (p *parser) startAccount(n int, name string, parents []*Account) error {
	switch {
	case name == "":
		return p.errf(n, "account", "write `account NAME`", "missing account name")
	case strings.ContainsAny(name, ":,"):
		return p.errf(n, "account", "rename the account", "an account name must not contain colons or commas")
	case p.find(name) != nil:
		return p.errf(n, "account", "rename one of the two accounts", "account %s was already defined", name)
	}
	a := p.defaults.Clone()
	a.Name, a.File, a.Line = name, p.name, n
	for _, parent := range parents {
		for k, o := range parent.Set {
			if o.Defaults {
				continue
			}
			// msmtp's override_account: allow_from_override is not
			// inherited from a parent (only from defaults), and a child
			// whose allow_from_override is off keeps its own from.
			if k == "allow_from_override" || (k == "from" && !a.AllowFromOverride) {
				continue
			}
			// The parent's argument was valid when it was read.
			_, _ = applyKey(a, k, parent.raw[k], p.opts.Home)
			a.Set[k] = o
			a.raw[k] = parent.raw[k]
		}
	}
	p.file.Accounts = append(p.file.Accounts, a)
	p.cur = a
	return nil
}
