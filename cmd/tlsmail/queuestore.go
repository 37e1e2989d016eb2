package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/anystore"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// resolveQueue finds the outbox (submit.QueueLocation): the first of the
// flags, the environment (TLSMAIL_QUEUE_DIR, TLSMAIL_QUEUE_URL) and the
// configuration account (queue_dir, queue_url) that names one, else the
// default directory (submit.DefaultQueueDir). A level that names both a
// directory and a URL is an error: which outbox was meant cannot be told.
func resolveQueue(e *env, flagDir, flagURL, cfgDir, cfgURL string) (anystore.Location, error) {
	if flagURL != "" {
		if err := checkURLArg(flagURL); err != nil {
			return anystore.Location{}, err
		}
	}
	return queueLocationError(submit.QueueLocation(flagSource(flagDir, flagURL),
		anystore.Source{Names: "the account's queue_dir and queue_url", Dir: cfgDir, URL: cfgURL}, e.getenv))
}

// flagSource is the outbox the command line names.
func flagSource(dir, url string) anystore.Source {
	return anystore.Source{Names: "--queue-dir and --queue-url", Dir: dir, URL: url}
}

// queueLocationError gives the errors of finding the outbox the flags
// that fix them.
func queueLocationError(loc anystore.Location, err error) (anystore.Location, error) {
	var be *anystore.BothError
	var se *submit.Error
	switch {
	case errors.As(err, &be):
		return anystore.Location{}, usageErrorf("%v", err).withFix(be.Fix())
	case errors.As(err, &se) && se.Field == "queue_dir":
		return anystore.Location{}, configErrorf("%v", err).wrapping(err).withFix("pass --queue-dir DIR or set TLSMAIL_QUEUE_DIR")
	}
	return loc, err
}

// checkURLArg refuses a queue URL on the command line that holds a
// password (other users see a process's arguments) or is not PostgreSQL's.
func checkURLArg(s string) error {
	var ue *anystore.URLError
	if err := anystore.CheckURL(s); !errors.As(err, &ue) {
		return err
	}
	if ue.Problem == anystore.URLHasPassword {
		return usageErrorf("--queue-url holds a password: the command line is visible to other users").withFix(ue.Fix())
	}
	return usageErrorf("--queue-url %s is not a PostgreSQL URL", safetext.Quote(ue.URL)).withFix(ue.Fix())
}

// openStore opens the outbox at loc (anystore.Open) with o; its warnings
// go to standard error, quoted (o.Logf is set to print them).
func openStore(ctx context.Context, e *env, loc anystore.Location, o anystore.Options) (outbox.Store, error) {
	o.Logf = func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "tlsmail: %s\n", safetext.Quote(fmt.Sprintf(format, args...)))
	}
	q, err := anystore.Open(ctx, loc, o)
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
out. A database reached over the network is verified (sslmode=verify-full)
unless the URL, the entry of the service it names (PGSERVICE, service=) or
PGSSLMODE sets another sslmode.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			loc, err := qf.resolve(cmd.Context(), e)
			if err != nil {
				return err
			}
			if loc.URL == "" {
				return usageErrorf("queue init is for the outbox on PostgreSQL: no queue URL given").
					withFix("give --queue-url postgres://user@host/database (a spool directory needs no init)")
			}
			from, err := anystore.Migrate(cmd.Context(), loc.URL)
			var ue *anystore.URLError
			if errors.As(err, &ue) {
				return usageErrorf("cannot read the queue URL %s", safetext.Quote(ue.URL)).withFix(ue.Fix())
			}
			if err != nil {
				return queueError(err)
			}
			if from == pgqueue.SchemaVersion {
				fmt.Fprintf(e.stdout, "The queue schema in %s is up to date (version %d).\n", loc, from)
			} else {
				fmt.Fprintf(e.stdout, "The queue schema in %s is now version %d (was %d).\n", loc, pgqueue.SchemaVersion, from)
			}
			return nil
		},
	}
}
