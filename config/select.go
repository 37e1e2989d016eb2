package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// Override is one of msmtp's command-line account options as the
// configuration command it sets: --port=2525 is {"port", "2525"},
// --tls-trust-file=FILE is {"tls_trust_file", "FILE"}.
type Override struct {
	Key, Arg string
}

// Selection says which account Search.Select chooses and how the command
// line changes it, as msmtp's sendmail mode does.
type Selection struct {
	// Account is the account named on the command line (msmtp's -a); ""
	// chooses by From, else the default account.
	Account string
	// From is the envelope sender of the command line (-f): it chooses
	// the account whose from matches, and replaces the account's from
	// when allow_from_override lets it.
	From string
	// Overrides change the chosen account, in command-line order (see
	// Account.Override). A "host" among them means a new account named
	// "cmdline": no file is read (msmtp's --host).
	Overrides Overrides
	// Options are the files' parse options (Home is taken from the
	// Search when unset).
	Options Options
	// Expander replaces %U %H %C %M in from and domain; its Getenv and
	// Mailname are the Search's (Search.Expander) when unset.
	Expander Expander
}

// Overrides are command-line account options, in order.
type Overrides []Override

// Has reports whether an Override sets key; Has("host") means a new
// account, no file read.
func (o Overrides) Has(key string) bool {
	for _, kv := range o {
		if kv.Key == key {
			return true
		}
	}
	return false
}

// OverrideError is an Override the account refused: its Err says why, as
// for the same command in a file.
type OverrideError struct {
	Override
	Err *Error
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("setting %s on the command line: %s", e.Key, e.Err.Msg)
}

func (e *OverrideError) Unwrap() error { return e.Err }

// Expander is the Expander of the files s finds: the process environment
// of s.Getenv and msmtp's mailname file, "mailname" beside the system file
// (/etc/mailname), as msmtp reads it from its SYSCONFDIR.
func (s Search) Expander() Expander {
	x := Expander{Getenv: s.Getenv}
	if s.SystemFile != "" {
		x.Mailname = filepath.Join(filepath.Dir(s.SystemFile), "mailname")
	}
	return x
}

// Select reads the configuration as msmtp does in sendmail mode and
// returns the account sel chooses, with the command line applied: the
// system file, then the user file, whose accounts replace the system
// file's of the same name (LoadFound); the account named, else the one
// whose from matches sel.From, else the default, else (no file, or no
// default anywhere, and no account named) the environment's (EnvAccount).
// Then sel.Overrides are applied, sel.From replaces from when the account
// allows it (allow_from_override), and %U %H %C %M are expanded in from
// and domain: msmtp's order. The result is a copy: the file's account is
// not changed. A refused Override is an *OverrideError.
func (s Search) Select(ctx context.Context, sel Selection) (*Account, error) {
	var a *Account
	if sel.Overrides.Has("host") {
		a = NewAccount("cmdline")
	} else {
		found, err := s.Locate()
		switch {
		case err == nil:
			opts := sel.Options
			if opts.Home == "" {
				opts.Home = s.Home
			}
			f, err := LoadFound(ctx, found, opts)
			if err != nil {
				return nil, err
			}
			if a, err = f.SelectEnv(sel.Account, sel.From, s.Getenv); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrNotExist) && sel.Account == "" && EnvAccount(s.Getenv) != nil:
			a = EnvAccount(s.Getenv)
		default:
			return nil, err
		}
	}
	a = a.Clone()
	for _, kv := range sel.Overrides {
		if err := a.Override(kv.Key, kv.Arg, s.Home); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				return nil, &OverrideError{Override: kv, Err: ce}
			}
			return nil, err
		}
	}
	a.OverrideFrom(sel.From)
	x := sel.Expander
	if x.Getenv == nil {
		x.Getenv = s.Getenv
	}
	if x.Mailname == "" {
		x.Mailname = s.Expander().Mailname
	}
	if err := a.Expand(ctx, x, true); err != nil {
		return nil, err
	}
	return a, nil
}
