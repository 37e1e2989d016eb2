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
func Locate(explicit string, getenv func(string) string, home string) (string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if explicit != "" {
		return expandHome(explicit, home), nil
	}
	if p := getenv("TLSMAIL_CONFIG"); p != "" {
		return expandHome(p, home), nil
	}
	var tried []string
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		tried = append(tried, filepath.Join(xdg, "tlsmail", "config"))
	}
	if home != "" {
		tried = append(tried, filepath.Join(home, ".msmtprc"))
	}
	for _, p := range tried {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", &Error{File: p, Msg: "cannot read configuration file: " + errText(err),
				Fix: "fix the file's permissions, or name another configuration file", Err: err}
		}
	}
	return "", &Error{
		Msg: "no configuration file found (tried " + strings.Join(tried, ", ") + ")",
		Fix: "create one of them in msmtp's format, or name another configuration file",
		Err: fs.ErrNotExist,
	}
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
