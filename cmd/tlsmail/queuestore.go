package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// queueStore is the outbox the queue commands work on: the spool directory
// (*outbox.Queue) or the PostgreSQL queue (*pgqueue.Queue).
type queueStore interface {
	outbox.Store
	// Dir says where the outbox is: the directory, or the database's URL
	// without its password.
	Dir() string
	Walk(fn func(*outbox.Item) error) error
	WalkFailed(fn func(*outbox.Item) error) error
}

// queueWhere names a part of the outbox for messages: a subdirectory of
// the spool (failed, corrupt, msg), or the database table.
func queueWhere(q queueStore, sub string) string {
	if _, ok := q.(*outbox.Queue); ok {
		return filepath.Join(q.Dir(), sub)
	}
	if sub == "msg" {
		sub = "outbox"
	}
	return q.Dir() + " (table tlsmail." + sub + ")"
}

// queueLoc is where the outbox is: a directory or a database URL.
type queueLoc struct {
	dir, url string
}

func (l queueLoc) String() string {
	if l.url != "" {
		return redactURL(l.url)
	}
	return l.dir
}

// resolveQueue finds the outbox: the first of the flags, the environment
// (TLSMAIL_QUEUE_DIR, TLSMAIL_QUEUE_URL) and the configuration account
// (queue_dir, queue_url) that names one, else the default directory
// (submit.DefaultQueueDir). A
// level that names both a directory and a URL is an error: which outbox
// was meant cannot be told.
func resolveQueue(e *env, flagDir, flagURL, cfgDir, cfgURL string) (queueLoc, error) {
	if flagURL != "" {
		if err := checkURLArg(flagURL); err != nil {
			return queueLoc{}, err
		}
	}
	levels := []struct{ dir, url, names string }{
		{flagDir, flagURL, "--queue-dir and --queue-url"},
		{e.getenv("TLSMAIL_QUEUE_DIR"), e.getenv("TLSMAIL_QUEUE_URL"), "TLSMAIL_QUEUE_DIR and TLSMAIL_QUEUE_URL"},
		{cfgDir, cfgURL, "the account's queue_dir and queue_url"},
	}
	for _, l := range levels {
		switch {
		case l.dir != "" && l.url != "":
			return queueLoc{}, usageErrorf("%s are both given: the outbox is either a directory or a database", l.names).
				withFix("give only one of them")
		case l.url != "":
			return queueLoc{url: l.url}, nil
		case l.dir != "":
			return queueLoc{dir: absPath(l.dir)}, nil
		}
	}
	dir, err := submit.DefaultQueueDir(e.getenv)
	if err != nil {
		return queueLoc{}, configErrorf("%v", err).wrapping(err).withFix("pass --queue-dir DIR or set TLSMAIL_QUEUE_DIR")
	}
	return queueLoc{dir: dir}, nil
}

// checkURLArg refuses a queue URL on the command line that holds a
// password: other users see a process's arguments.
func checkURLArg(s string) error {
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
		return usageErrorf("--queue-url holds a password: the command line is visible to other users").
			withFix("remove it from the URL and put it in ~/.pgpass (or the file PGPASSFILE names), or in PGPASSWORD")
	}
	if err == nil && u.Scheme != "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return usageErrorf("--queue-url %s is not a PostgreSQL URL", safetext.Quote(redactURL(s))).
			withFix("give postgres://user@host/database?sslmode=verify-full")
	}
	return nil
}

// keywordPassword finds a password in a libpq key=value connection string,
// which allows spaces around the '=' ("password = secret").
var keywordPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=`)

// redactURL is a URL for messages: its password replaced.
func redactURL(s string) string {
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

// openStore opens the outbox at loc; its warnings go to standard error,
// quoted.
// lease is the claim's lease (0: pgqueue.DefaultLease); maxSize the largest
// message enqueued (0: the store's default; negative: none for the spool
// directory, the default for PostgreSQL, which holds a message in memory).
func openStore(ctx context.Context, e *env, loc queueLoc, lease time.Duration, maxSize int64) (queueStore, error) {
	if loc.url == "" {
		return openQueueLimit(e, loc.dir, maxSize)
	}
	q, err := pgqueue.Open(ctx, loc.url, pgqueue.Options{Lease: lease, MaxSize: maxSize, Logf: func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "tlsmail: %s\n", safetext.Quote(fmt.Sprintf(format, args...)))
	}})
	if err != nil {
		return nil, queueError(err)
	}
	return q, nil
}

// newQueueInitCommand is `queue init`: create or migrate the PostgreSQL
// queue's schema.
func newQueueInitCommand(e *env, st *runState, qf *queueFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create or migrate the queue's schema in PostgreSQL (--queue-url)",
		Long: `Create the tables of the outbox on PostgreSQL, or bring them to this
version of tlsmail's schema (outbox/pgqueue; versioned, safe to run again
and from several hosts at once).

The database comes from --queue-url, TLSMAIL_QUEUE_URL or the account's
queue_url. Its password is never given on the command line: it comes from
~/.pgpass (or the file PGPASSFILE names) or PGPASSWORD, as with psql; the
PG* variables (PGHOST, PGUSER, PGSSLMODE, ...) fill what the URL leaves
out. Use sslmode=verify-full to verify the server's certificate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			loc, err := qf.resolve(cmd.Context(), e)
			if err != nil {
				return err
			}
			if loc.url == "" {
				return usageErrorf("queue init is for the outbox on PostgreSQL: no queue URL given").
					withFix("give --queue-url postgres://user@host/database (a spool directory needs no init)")
			}
			cfg, err := pgqueue.ParseConfig(loc.url)
			var conn *pgx.Conn
			if err == nil {
				conn, err = pgx.ConnectConfig(cmd.Context(), cfg.ConnConfig)
			}
			if err != nil {
				var pe *pgconn.ParseConfigError
				if errors.As(err, &pe) {
					return usageErrorf("cannot read the queue URL %s", safetext.Quote(redactURL(loc.url))).
						withFix("give postgres://user@host/database?sslmode=verify-full")
				}
				return queueError(pgqueue.Unavailable("init", err))
			}
			defer conn.Close(context.WithoutCancel(cmd.Context()))
			from, err := pgqueue.Migrate(cmd.Context(), conn)
			if err != nil {
				return queueError(err)
			}
			if from == pgqueue.SchemaVersion {
				fmt.Fprintf(e.stdout, "The queue schema in %s is up to date (version %d).\n", redactURL(loc.url), from)
			} else {
				fmt.Fprintf(e.stdout, "The queue schema in %s is now version %d (was %d).\n", redactURL(loc.url), pgqueue.SchemaVersion, from)
			}
			return nil
		},
	}
}
