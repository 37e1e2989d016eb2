// Package anystore opens an outbox from where it is said to be: a spool
// directory (outbox.Queue) or a PostgreSQL URL (outbox/pgqueue). It is the
// one package that imports both stores, so that a program using only the
// spool directory (package outbox and submit) does not link the PostgreSQL
// driver.
//
// The place comes from several sources in order of precedence (the
// command line, the environment, a configuration account): Choose takes
// the first that names one, and refuses a source that names both a
// directory and a URL. A URL that holds a password is refused where it
// would be visible to other users (CheckURL), and is printed with its
// password replaced (RedactURL).
package anystore

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
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

// NoLocationError is Open's error for a Location that names neither a
// directory nor a URL (the zero Location, as Choose returns it when no
// source names an outbox).
type NoLocationError struct{}

func (e *NoLocationError) Error() string {
	return "no outbox location given: neither a spool directory nor a PostgreSQL URL"
}

// Fix says what to do.
func (e *NoLocationError) Fix() string {
	return "set Location.Dir to a spool directory (submit.DefaultQueueDir is the usual one) or Location.URL to a PostgreSQL URL"
}

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

// URLError is a queue URL that cannot be used.
type URLError struct {
	URL     string // with its password replaced (RedactURL)
	Problem URLProblem
}

// URLProblem is what is wrong with a queue URL.
type URLProblem int

const (
	// URLHasPassword: the URL holds a password where other users can read
	// it (a process's arguments).
	URLHasPassword URLProblem = iota + 1
	// URLNotPostgres: the URL's scheme is not postgres or postgresql.
	URLNotPostgres
	// URLUnreadable: the PostgreSQL driver cannot parse it.
	URLUnreadable
)

func (e *URLError) Error() string {
	switch e.Problem {
	case URLHasPassword:
		return "the queue URL holds a password, visible to other users where it is given"
	case URLNotPostgres:
		return "the queue URL " + e.URL + " is not a PostgreSQL URL"
	}
	return "cannot read the queue URL " + e.URL
}

// Fix says what to do.
func (e *URLError) Fix() string {
	if e.Problem == URLHasPassword {
		return "remove it from the URL and put it in ~/.pgpass (or the file PGPASSFILE names), or in PGPASSWORD"
	}
	return "give postgres://user@host/database?sslmode=verify-full"
}

// CheckURL refuses a queue URL given where other users can read it (a
// process's arguments) that holds a password, in its user information or
// as a password parameter, and a URL whose scheme is not postgres or
// postgresql. Both are *URLError.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	hasPass := false
	if err == nil && u.User != nil {
		_, hasPass = u.User.Password()
	}
	if err == nil && u.Query().Has("password") {
		hasPass = true
	}
	if !strings.Contains(s, "://") && keywordPassword.MatchString(s) {
		hasPass = true
	}
	if hasPass {
		return &URLError{URL: RedactURL(s), Problem: URLHasPassword}
	}
	if err == nil && u.Scheme != "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return &URLError{URL: RedactURL(s), Problem: URLNotPostgres}
	}
	return nil
}

// keywordPassword finds a password in a libpq key=value connection string,
// which allows spaces around the '=' ("password = secret").
var keywordPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=`)

// RedactURL is a queue URL for messages: its password, in the user
// information or a password parameter, replaced. A string that is not a
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
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Options configure Open.
type Options struct {
	// Lease is the PostgreSQL claim's lease (0: pgqueue.DefaultLease).
	Lease time.Duration
	// MaxSize is the largest message enqueued (0: the store's default;
	// negative: none for the spool directory, the default for PostgreSQL,
	// which holds a message in memory).
	MaxSize int64
	// Logf, if set, receives the store's warnings (text from the disk or
	// the database: quote it before printing to a terminal).
	Logf func(format string, args ...any)
}

// Open opens the outbox at loc: the spool directory (made if missing) or
// the PostgreSQL queue, whose schema must exist (Migrate). The PostgreSQL
// store is a *pgqueue.Queue: Close it when done. A Location that names
// neither is a *NoLocationError, one that names both a *BothError; other
// failures are the stores' own typed errors (*outbox.Error, pgqueue's).
func Open(ctx context.Context, loc Location, o Options) (outbox.Store, error) {
	switch {
	case loc.URL != "" && loc.Dir != "":
		return nil, &BothError{Names: "Location.Dir and Location.URL"}
	case loc.URL != "":
		q, err := pgqueue.Open(ctx, loc.URL, pgqueue.Options{Lease: o.Lease, MaxSize: o.MaxSize, Logf: o.Logf})
		if err != nil {
			return nil, err
		}
		return q, nil
	case loc.Dir == "":
		return nil, &NoLocationError{}
	}
	q, err := outbox.Open(loc.Dir, outbox.Options{Logf: o.Logf, MaxMessageSize: o.MaxSize})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// Migrate creates the PostgreSQL queue's schema at url, or brings it to
// this version (pgqueue.Migrate), and returns the version it found (0:
// none; pgqueue.SchemaVersion: it was up to date). A URL that cannot be
// read is a *URLError; a database that cannot be reached or refuses the
// connection is pgqueue.ConnError's error.
func Migrate(ctx context.Context, url string) (from int, err error) {
	cfg, err := pgqueue.ParseConfig(url) // verify-full by default for a remote database
	var conn *pgx.Conn
	if err == nil {
		conn, err = pgx.ConnectConfig(ctx, cfg.ConnConfig)
	}
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			return 0, &URLError{URL: RedactURL(url), Problem: URLUnreadable}
		}
		return 0, pgqueue.ConnError("init", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return pgqueue.Migrate(ctx, conn)
}
