package config

import (
	"errors"
	"fmt"
)

// NewAccount returns an account called name with msmtp's defaults and
// nothing else set (no file): the account msmtp builds from --host and the
// other command-line settings. Set what it needs with Override.
func NewAccount(name string) *Account {
	return newAccount(name, "", 0)
}

// Override sets one setting of a as the configuration command key with
// argument arg would, checking arg exactly as the file's parser does: how
// msmtp's command-line options (--port=2525, --tls-trust-file=FILE,
// --auth=plain) change the chosen account. home expands a leading '~' in
// file names. A bad argument or an unknown or refused command is a *Error
// naming the key; for a value the command does not take, errors.Is finds
// ErrInvalidArgument in it. Override changes a itself: call it on a Clone.
func (a *Account) Override(key, arg, home string) error {
	if a.Ignored == nil {
		a.Ignored = map[string]string{}
	}
	if a.Set == nil {
		a.Set = map[string]Origin{}
	}
	if a.raw == nil {
		a.raw = map[string]string{}
	}
	ckey, carg, err := canonical(key, arg)
	if err == nil {
		var known bool
		known, err = applyKey(a, ckey, carg, home)
		if !known {
			return &Error{Key: key, Msg: fmt.Sprintf("unknown setting %s", key), Fix: "see the configuration commands tlsmail reads (msmtp's)"}
		}
	}
	if err != nil {
		e := &Error{Key: key, Msg: err.Error(), Err: err}
		var ae *argError
		if errors.As(err, &ae) {
			e.Fix = ae.fix
		}
		return e
	}
	a.Set[ckey] = Origin{CommandLine: true}
	a.raw[ckey] = carg
	return nil
}
