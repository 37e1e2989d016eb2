package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Locate finds the configuration file, in this order: explicit (from
// --config), the TLSMAIL_CONFIG environment variable,
// $XDG_CONFIG_HOME/tlsmail/config (XDG_CONFIG_HOME defaulting to
// ~/.config), then ~/.msmtprc. An explicit or TLSMAIL_CONFIG path is
// returned even when it does not exist (Load then says so); the other two
// are used only when they exist. getenv and home are the environment and
// home directory, passed in so that callers and tests control them.
//
// When no file is found the error is a *Error listing the places tried.
// It is the search Search.Locate runs for its user file, with tlsmail's
// own file first and no system file.
func Locate(explicit string, getenv func(string) string, home string) (string, error) {
	getenv = orNoEnv(getenv)
	var c []string
	if xdg := xdgConfigHome(getenv, home); xdg != "" {
		c = append(c, filepath.Join(xdg, "tlsmail", "config"))
	}
	if home != "" {
		c = append(c, filepath.Join(home, ".msmtprc"))
	}
	f, err := locate("", explicit, getenv, home, c)
	return f.User, err
}

// locate is the search of Locate and Search.Locate: the system file sys
// when it exists ("" for none), and the user file: explicit, else
// TLSMAIL_CONFIG (either even when it does not exist), else the first of
// candidates that exists. It is an error (a *Error wrapping
// fs.ErrNotExist, listing the paths tried) only when neither file is
// found; a file that exists but cannot be examined is a *Error too.
func locate(sys, explicit string, getenv func(string) string, home string, candidates []string) (Found, error) {
	var f Found
	exists := func(p string) (bool, error) {
		f.Tried = append(f.Tried, p)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		}
		return false, &Error{File: p, Msg: "cannot read configuration file: " + errText(err),
			Fix: "fix the file's permissions, or name another configuration file", Err: err}
	}
	if sys != "" {
		ok, err := exists(sys)
		if err != nil {
			return f, err
		}
		if ok {
			f.System = sys
		}
	}
	if explicit == "" {
		explicit = getenv("TLSMAIL_CONFIG")
	}
	if explicit != "" {
		f.User = expandHome(explicit, home)
		f.Tried = append(f.Tried, f.User)
		return f, nil
	}
	for _, p := range candidates {
		ok, err := exists(p)
		if err != nil {
			return f, err
		}
		if ok {
			f.User = p
			break
		}
	}
	if f.User == "" && f.System == "" && len(f.Tried) == 0 {
		// No home directory and no XDG_CONFIG_HOME: nowhere to look.
		unset := "HOME is not set"
		if runtime.GOOS == "windows" {
			unset = "neither HOME nor USERPROFILE is set"
		}
		return f, &Error{
			Msg: "no configuration file found: " + unset + ", so there is no place to look for one",
			Fix: "set HOME, or name the configuration file",
			Err: fs.ErrNotExist,
		}
	}
	if f.User == "" && f.System == "" {
		return f, &Error{
			Msg: "no configuration file found (tried " + strings.Join(f.Tried, ", ") + ")",
			Fix: "create one of them in msmtp's format, or name another configuration file",
			Err: fs.ErrNotExist,
		}
	}
	return f, nil
}

// xdgConfigHome is $XDG_CONFIG_HOME, defaulting to ~/.config (XDG Base
// Directory Specification); "" when neither is known.
func xdgConfigHome(getenv func(string) string, home string) string {
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	return xdg
}

// orNoEnv is getenv, or an empty environment when it is nil.
func orNoEnv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return func(string) string { return "" }
	}
	return getenv
}

func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return home + p[1:]
	}
	return p
}

// Home returns the user's home directory as getenv sees it: HOME, or on
// Windows, where HOME is usually unset, USERPROFILE. It is what "~"
// expands to in a configuration file (Options.Home), and "" when neither
// is set.
func Home(getenv func(string) string) string {
	return home(getenv, runtime.GOOS)
}

func home(getenv func(string) string, goos string) string {
	h := getenv("HOME")
	if h == "" && goos == "windows" {
		h = getenv("USERPROFILE")
	}
	return h
}
