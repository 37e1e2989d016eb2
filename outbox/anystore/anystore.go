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
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// Location, Source, BothError, Env and Choose are outbox's: a program
// using only the spool directory (submit.SendmailQueue) finds the outbox
// with them without linking the PostgreSQL driver.
type (
	Location  = outbox.Location
	Source    = outbox.Source
	BothError = outbox.BothError
)

// Env is outbox.Env.
func Env(getenv func(string) string) Source { return outbox.Env(getenv) }

// Choose is outbox.Choose.
func Choose(sources ...Source) (Location, error) { return outbox.Choose(sources...) }

// NoLocationError is Open's error for a Location that names neither a
// directory nor a URL (the zero Location, as Choose returns it when no
// source names an outbox).
type NoLocationError struct{}

func (e *NoLocationError) Error() string {
	return "no outbox location given: neither a spool directory nor a PostgreSQL URL"
}

// Fix says what to do.
func (e *NoLocationError) Fix() string {
	return "set Location.Dir to a spool directory or Location.URL to a PostgreSQL URL"
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
		return "remove it from the URL and put it in ~/.pgpass (or the file PGPASSFILE names), or in PGPASSWORD (a client key's passphrase, sslpassword: in PGSSLPASSWORD)"
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
	if err == nil && (u.Query().Has("password") || u.Query().Has("sslpassword")) {
		hasPass = true
	}
	if pgqueue.URLHasPassword(s) {
		hasPass = true // a user part net/url does not see ("u:p?x@host")
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
var keywordPassword = regexp.MustCompile(`(?i)(^|\s)(ssl)?password\s*=`)

// RedactURL is outbox.RedactURL.
func RedactURL(s string) string { return outbox.RedactURL(s) }

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
	// MaxUnrecorded is the PostgreSQL queue's bound on the delivered items
	// per connection whose removal is not yet committed
	// (pgqueue.Options.MaxUnrecorded; 0: pgqueue.DefaultMaxUnrecorded).
	// The spool directory removes each item once its 250 is read, so it
	// has no such bound and ignores it.
	MaxUnrecorded int
	// NoCreate opens a spool directory for reading only, without creating
	// it: one that does not exist reads as empty (outbox.Options.NoCreate).
	// Opening the PostgreSQL queue creates nothing in any case (Migrate
	// does).
	NoCreate bool
}

// Open opens the outbox at loc: the spool directory (made if missing,
// unless o.NoCreate) or
// the PostgreSQL queue, whose schema must exist (Migrate). The PostgreSQL
// store is a *pgqueue.Queue: Close it when done. A Location that names
// neither is a *NoLocationError, one that names both a *BothError; other
// failures are the stores' own typed errors (*outbox.Error, pgqueue's).
func Open(ctx context.Context, loc Location, o Options) (outbox.Store, error) {
	switch {
	case loc.URL != "" && loc.Dir != "":
		return nil, &BothError{Names: "Location.Dir and Location.URL"}
	case loc.URL != "":
		q, err := pgqueue.Open(ctx, loc.URL, pgqueue.Options{Lease: o.Lease, MaxSize: o.MaxSize, Logf: o.Logf, MaxUnrecorded: o.MaxUnrecorded})
		if err != nil {
			return nil, err
		}
		return q, nil
	case loc.Dir == "":
		return nil, &NoLocationError{}
	}
	q, err := outbox.Open(loc.Dir, outbox.Options{Logf: o.Logf, MaxMessageSize: o.MaxSize, NoCreate: o.NoCreate})
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
	return migrate(ctx, url, pgqueue.OpTimeout)
}

// migrate is Migrate, whose connection must be made within connect (a
// host that accepts it and never answers otherwise holds `queue init`
// for ever).
func migrate(ctx context.Context, url string, connect time.Duration) (from int, err error) {
	cfg, err := pgqueue.ParseConfig(url) // verify-full by default for a remote database
	var conn *pgx.Conn
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, connect)
		conn, err = pgx.ConnectConfig(cctx, cfg.ConnConfig)
		cancel()
	}
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			return 0, &URLError{URL: RedactURL(url), Problem: URLUnreadable}
		}
		var oe *outbox.Error
		if errors.As(err, &oe) {
			return 0, err // pgqueue.ParseConfig's (a service defined nowhere)
		}
		return 0, pgqueue.ConnError("init", err)
	}
	defer func() {
		// Bounded: the goodbye is written to a peer that may be gone.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	return pgqueue.Migrate(ctx, conn)
}
