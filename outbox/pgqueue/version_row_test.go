package pgqueue_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresEmptyVersionTable: a database whose tlsmail.schema_version
// has lost its row (a change by hand) is refused as a database without the
// queue schema of this version, saying what is wrong; before, Open and
// Migrate called it "the queue database is unavailable: no rows in
// result set" and told the user to check that PostgreSQL was running
// (and the CLI exited 75, "try again later", for good).
func TestPostgresEmptyVersionTable(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	conn := dial(t, url)
	if _, err := conn.Exec(ctx, `DELETE FROM tlsmail.schema_version`); err != nil {
		t.Fatal(err)
	}
	_, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if err == nil || errors.Is(err, pgqueue.ErrUnavailable) || !errors.Is(err, pgqueue.ErrNoSchema) || !strings.Contains(err.Error(), "schema_version") {
		t.Errorf("Open = %v; want an error naming the empty tlsmail.schema_version, not the database unavailable", err)
	}
	_, err = pgqueue.Migrate(ctx, conn)
	if err == nil || errors.Is(err, pgqueue.ErrUnavailable) || !strings.Contains(err.Error(), "schema_version") {
		t.Errorf("Migrate = %v; want an error naming the empty tlsmail.schema_version, not the database unavailable", err)
	}
}
