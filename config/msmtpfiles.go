package config

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultSystemFile is msmtp's system configuration file,
// SYSCONFDIR/msmtprc, where Debian's msmtp looks for it (`msmtp --version`
// prints it): /etc/msmtprc. Windows has none, and "" is returned there.
func DefaultSystemFile() string {
	if runtime.GOOS == "windows" {
		return ""
	}
	return "/etc/msmtprc"
}

// SystemFile is the system configuration file of this process: the file
// $TLSMAIL_SYSTEM_CONFIG names (read with getenv; nil: no environment, as
// in Search), else
// DefaultSystemFile. Everything that reads, checks or looks beside the
// system file (Search.SystemFile, %M's mailname, the system netrc, the
// system file's looser permission check) takes it from here.
func SystemFile(getenv func(string) string) string {
	if s := orNoEnv(getenv)("TLSMAIL_SYSTEM_CONFIG"); s != "" {
		return s
	}
	return DefaultSystemFile()
}

// Search describes where msmtp-compatible programs look for their
// configuration (sendmail mode): msmtp reads a system file and a user file,
// and an account of the user file replaces the system file's account of
// the same name.
type Search struct {
	// Explicit is the user file named on the command line (-C, --file);
	// it replaces the user file search, not the system file (as in msmtp).
	Explicit string
	// SystemFile is the system configuration file, read when it exists;
	// "" for none. Callers normally set SystemFile(getenv).
	SystemFile string
	// Getenv and Home are the environment and the home directory.
	Getenv func(string) string
	Home   string
}

// Found is what Search.Locate found.
type Found struct {
	// System is the system file when it exists, else "".
	System string
	// User is the user file: Explicit, else $TLSMAIL_CONFIG (either even
	// when it does not exist: Load then says so), else the first existing
	// one of UserCandidates, else "".
	User string
	// Tried lists every path looked at, in order, for messages.
	Tried []string
}

// UserCandidates are the user files Search.Locate tries when no file is
// named, in order: $TLSMAIL_CONFIG (when set), msmtp's ~/.msmtprc and
// $XDG_CONFIG_HOME/msmtp/config (XDG_CONFIG_HOME defaulting to
// ~/.config; msmtp 1.8 prefers ~/.msmtprc when both exist), then
// tlsmail's own $XDG_CONFIG_HOME/tlsmail/config.
func (s Search) UserCandidates() []string {
	getenv := orNoEnv(s.Getenv)
	var c []string
	if p := getenv("TLSMAIL_CONFIG"); p != "" {
		c = append(c, expandHome(p, s.Home))
	}
	if s.Home != "" {
		c = append(c, filepath.Join(s.Home, ".msmtprc"))
	}
	if xdg := xdgConfigHome(getenv, s.Home); xdg != "" {
		c = append(c, filepath.Join(xdg, "msmtp", "config"), filepath.Join(xdg, "tlsmail", "config"))
	}
	return c
}

// Locate finds the system and user files. It is an error (a *Error
// wrapping fs.ErrNotExist) only when neither exists; a file that exists
// but cannot be examined is a *Error too.
func (s Search) Locate() (Found, error) {
	return locate(s.SystemFile, s.Explicit, orNoEnv(s.Getenv), s.Home, s.UserCandidates())
}

// LoadFound reads the files f names and merges them as msmtp does: every
// account of the system file, except those the user file defines again,
// then the user file's accounts (each Account keeps its File). A system
// file this user may not read is skipped when there is a user file (msmtp
// does the same); without one, that is the error. Path of the
// result is the user file, or the system file when there is no user file.
func LoadFound(ctx context.Context, f Found, opts Options) (*File, error) {
	var sys, user *File
	var err error
	if f.System != "" {
		sys, err = Load(ctx, f.System, opts)
		switch {
		case errors.Is(err, fs.ErrPermission) && f.User != "":
			// Debian keeps a system file with a password at 0640
			// root:msmtp: a user outside the group uses their own
			// file, as msmtp does ("ignoring system configuration
			// file ...: Permission denied").
			sys = nil
		case err != nil:
			return nil, err
		}
	}
	if f.User != "" {
		if user, err = Load(ctx, f.User, opts); err != nil {
			return nil, err
		}
	}
	switch {
	case user == nil && sys == nil:
		return &File{}, nil
	case user == nil:
		return sys, nil
	case sys == nil:
		return user, nil
	}
	merged := &File{Path: user.Path}
	redefined := map[string]bool{}
	for _, a := range user.Accounts {
		redefined[a.Name] = true
	}
	for _, a := range sys.Accounts {
		if !redefined[a.Name] {
			merged.Accounts = append(merged.Accounts, a)
		}
	}
	merged.Accounts = append(merged.Accounts, user.Accounts...)
	return merged, nil
}

// EnvAccount is the account msmtp makes from the environment when no
// account is chosen and the configuration defines no default: the host
// from SMTPSERVER (a plain host name) and the envelope sender from EMAIL,
// with msmtp's defaults (port 25, no TLS, no authentication). Its File
// is "". It returns nil when SMTPSERVER is unset.
func EnvAccount(getenv func(string) string) *Account {
	if getenv == nil {
		return nil
	}
	host := strings.TrimSpace(getenv("SMTPSERVER"))
	if host == "" {
		return nil
	}
	a := newAccount("environment", "", 0)
	a.Host = host
	a.From = strings.TrimSpace(getenv("EMAIL"))
	return a
}

// SelectEnv chooses the account as msmtp does in sendmail mode: like
// File.Select, and when no account is named and there is no default,
// the environment's account (EnvAccount) when SMTPSERVER is set.
func (f *File) SelectEnv(name, from string, getenv func(string) string) (*Account, error) {
	a, err := f.Select(name, from)
	if err != nil && name == "" {
		if env := EnvAccount(getenv); env != nil {
			return env, nil
		}
	}
	return a, err
}
