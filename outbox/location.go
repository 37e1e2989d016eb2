package outbox

import (
	"net/url"
	"path/filepath"
)

// Location is where an outbox is: a spool directory or a PostgreSQL URL
// (at most one is set; neither: none was named).
type Location struct {
	Dir string
	URL string
}

// IsZero reports whether l names no outbox.
func (l Location) IsZero() bool { return l.Dir == "" && l.URL == "" }

// String is l for messages: the directory, or the URL without its
// password.
func (l Location) String() string {
	if l.URL != "" {
		return RedactURL(l.URL)
	}
	return l.Dir
}

// Source is one place that may name the outbox: a directory, a URL or
// neither. Names says what gave them, for the error when both are given
// ("TLSMAIL_QUEUE_DIR and TLSMAIL_QUEUE_URL").
type Source struct {
	Names string
	Dir   string
	URL   string
}

// IsZero reports whether s names no outbox.
func (s Source) IsZero() bool { return s.Dir == "" && s.URL == "" }

// Env is the Source of the environment variables TLSMAIL_QUEUE_DIR and
// TLSMAIL_QUEUE_URL, read with getenv (os.Getenv).
func Env(getenv func(string) string) Source {
	return Source{Names: "TLSMAIL_QUEUE_DIR and TLSMAIL_QUEUE_URL",
		Dir: getenv("TLSMAIL_QUEUE_DIR"), URL: getenv("TLSMAIL_QUEUE_URL")}
}

// BothError is a Source that names both a directory and a URL: which
// outbox was meant cannot be told.
type BothError struct {
	Names string // Source.Names
}

func (e *BothError) Error() string {
	return e.Names + " are both given: the outbox is either a directory or a database"
}

// Fix says what to do.
func (e *BothError) Fix() string { return "give only one of them" }

// Choose returns the outbox the first source that names one names, its
// directory made absolute (an item queued from one directory is run from
// another); the zero Location when none names one (the caller's default,
// such as submit.DefaultQueueDir, applies). A source that names both is a
// *BothError.
func Choose(sources ...Source) (Location, error) {
	for _, s := range sources {
		switch {
		case s.Dir != "" && s.URL != "":
			return Location{}, &BothError{Names: s.Names}
		case s.URL != "":
			return Location{URL: s.URL}, nil
		case s.Dir != "":
			dir := s.Dir
			if a, err := filepath.Abs(dir); err == nil {
				dir = a
			}
			return Location{Dir: dir}, nil
		}
	}
	return Location{}, nil
}

// RedactURL is a queue URL for messages: its password, in the user
// information or a password or sslpassword parameter, replaced. A string that is not a
// URL (a key=value connection string) is not shown at all.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "(a PostgreSQL connection string)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} { // sslpassword: a client key's passphrase
		if q.Has(k) {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
