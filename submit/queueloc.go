package submit

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/outbox"
)

// QueueLocation is the outbox named by the first of explicit (a command
// line's), the environment (TLSMAIL_QUEUE_DIR, TLSMAIL_QUEUE_URL, read
// with getenv; nil: os.Getenv) and account (a configuration account's
// queue_dir and queue_url) that names one, else the default directory
// (DefaultQueueDir). A source that names both a directory and a URL is an
// *outbox.BothError: which outbox was meant cannot be told. The result
// opens with outbox.Open (Dir) or outbox/anystore.Open.
func QueueLocation(explicit, account outbox.Source, getenv func(string) string) (outbox.Location, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	loc, err := outbox.Choose(explicit, outbox.Env(getenv), account)
	if err != nil || !loc.IsZero() {
		return loc, err
	}
	dir, err := DefaultQueueDir(getenv)
	if err != nil {
		return outbox.Location{}, err
	}
	return outbox.Location{Dir: dir}, nil
}

// ConfigQueue returns the queue_dir and queue_url of the account named
// account ("": the default account) of the configuration file s.Explicit,
// else of the file config.Locate finds (tlsmail's own search: send and
// the queue commands), read with opts; "" when the environment names the
// outbox (TLSMAIL_QUEUE_DIR or TLSMAIL_QUEUE_URL, which come first), when
// there is no file, or when the account sets none. A file or account
// named that cannot be used is an error; a file found by looking is
// ignored when it names no default account. A nil s.Getenv is os.Getenv.
func ConfigQueue(ctx context.Context, s config.Search, account string, opts config.Options) (dir, url string, err error) {
	if s.Getenv == nil {
		s.Getenv = os.Getenv
	}
	getenv := s.Getenv
	if s.Explicit == "" && account == "" && !outbox.Env(getenv).IsZero() {
		return "", "", nil
	}
	path, err := config.Locate(s.Explicit, getenv, s.Home)
	if err != nil {
		if s.Explicit == "" && account == "" {
			return "", "", nil
		}
		return "", "", err
	}
	f, err := config.Load(ctx, path, opts)
	if err != nil {
		return "", "", err
	}
	a, err := f.Select(account, "")
	if err != nil {
		if account == "" {
			return "", "", nil
		}
		return "", "", err
	}
	return a.QueueDir, a.QueueURL, nil
}

// SendmailQueue is the outbox `tlsmail sendmail` queues the mail of the
// account s.Select(sel) chooses in (msmtp's system and user files, EMAIL
// and SMTPSERVER, the selection's account, sender and overrides), and so
// the one its -bp and -q read and a library runner (RunPass, Worker) must
// deliver from: explicit (a command line's) or the environment when they
// name one (QueueLocation), else the account's queue_dir or queue_url
// (an account of no file, the environment's or an override's host: those
// of the file ConfigQueue finds), else the default directory. A file or
// account s.Explicit or sel.Account names that cannot be read is an
// error; no configuration at all, or none this user can read, is the
// default outbox. A nil s.Getenv is os.Getenv.
func SendmailQueue(ctx context.Context, s config.Search, sel config.Selection, explicit outbox.Source) (outbox.Location, error) {
	if s.Getenv == nil {
		s.Getenv = os.Getenv
	}
	getenv := s.Getenv
	var acct outbox.Source
	if explicit.IsZero() && outbox.Env(getenv).IsZero() {
		a, err := s.Select(ctx, sel)
		switch {
		case err == nil && a.File != "":
			acct.Dir, acct.URL = a.QueueDir, a.QueueURL
		case err == nil:
			acct.Dir, acct.URL, _ = ConfigQueue(ctx, config.Search{Getenv: getenv, Home: s.Home}, "", sel.Options)
		case s.Explicit == "" && sel.Account == "" &&
			(errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, config.ErrAccountNotFound)):
			// No file this user can read, or none with a default
			// account: nothing can be queued for an account of theirs.
		default:
			return outbox.Location{}, err
		}
	}
	acct.Names = "the account's queue_dir and queue_url"
	return QueueLocation(explicit, acct, getenv)
}
