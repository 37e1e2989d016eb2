package pgqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the version of the schema this package reads and
// writes. Migrate brings a database to it; Open refuses any other.
const SchemaVersion = 2

// Channel is the LISTEN/NOTIFY channel an enqueue notifies (after its
// commit) and Listen waits on.
const Channel = "tlsmail_outbox"

// The schema, version 2, all in the schema "tlsmail":
//
//	schema_version(version)  one row: the version applied
//	outbox                   the queue: one narrow row per queued item,
//	                         the part a claim rewrites
//	  id            text     the item's ID (time-ordered, unique)
//	  created       timestamptz
//	  group_key     text     md5 of the settings as enqueued: equal keys
//	                         share a batch (and a batch's items are
//	                         checked to have equal settings)
//	  size          bigint   the message's size
//	  attempts, last_attempt, last_error, next_attempt
//	                         the retry state (backoff)
//	  lease_owner, lease_until
//	                         the claim: a runner owns the item until
//	                         lease_until (renewed while it delivers); a
//	                         dead runner's items are claimed again after;
//	                         the owner is host/pid/random (Queue.Owner)
//	  index outbox_due(next_attempt, id),
//	        outbox_group(group_key, next_attempt, id)
//	message                  what a queued item carries, written once at
//	                         enqueue and deleted with its outbox row
//	  id            text     the outbox row's ID
//	  envelope      jsonb    outbox.Envelope (from, to, body, smtputf8)
//	  settings      jsonb    the delivery settings (submit.Account): where
//	                         to read a secret, never the secret
//	  content       bytea    the message (at most Options.MaxSize)
//	failed                   items that failed for good or expired: id,
//	                         created, envelope, settings, group_key,
//	                         content, size, the retry state, failed_at,
//	                         reason and permanent
//
// Version 1 kept the message in the outbox row (and the settings' text as
// group_key, indexed): every claim rewrote the whole row (about 2 KB for a
// 1 KB message) and its index entries. Version 2 moves envelope, settings
// and content to the message table, which no claim touches; migrating
// from 1 copies them there and keeps every item's retry state and lease,
// and grants on message what each role had on outbox (an application
// role's INSERT, a worker's SELECT and DELETE), so that the roles of a
// deployment go on working: version 1's rows were all in outbox.
var migrations = []string{
	1: `
CREATE SCHEMA IF NOT EXISTS tlsmail;
CREATE TABLE tlsmail.schema_version (version integer NOT NULL);
INSERT INTO tlsmail.schema_version VALUES (0);
CREATE TABLE tlsmail.outbox (
	id           text PRIMARY KEY,
	created      timestamptz NOT NULL DEFAULT clock_timestamp(),
	envelope     jsonb NOT NULL,
	settings     jsonb NOT NULL,
	group_key    text NOT NULL,
	content      bytea NOT NULL,
	size         bigint NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	last_attempt timestamptz,
	last_error   text NOT NULL DEFAULT '',
	next_attempt timestamptz NOT NULL DEFAULT clock_timestamp(),
	lease_owner  text,
	lease_until  timestamptz
);
CREATE INDEX outbox_due ON tlsmail.outbox (next_attempt, id);
CREATE INDEX outbox_group ON tlsmail.outbox (group_key);
CREATE TABLE tlsmail.failed (
	id           text PRIMARY KEY,
	created      timestamptz NOT NULL,
	envelope     jsonb NOT NULL,
	settings     jsonb NOT NULL,
	group_key    text NOT NULL,
	content      bytea NOT NULL,
	size         bigint NOT NULL,
	attempts     integer NOT NULL,
	last_attempt timestamptz,
	last_error   text NOT NULL,
	failed_at    timestamptz NOT NULL,
	reason       text NOT NULL,
	permanent    boolean NOT NULL
);
`,
	2: `
CREATE TABLE tlsmail.message (
	id       text PRIMARY KEY,
	envelope jsonb NOT NULL,
	settings jsonb NOT NULL,
	content  bytea NOT NULL
);
INSERT INTO tlsmail.message (id, envelope, settings, content)
	SELECT id, envelope, settings, content FROM tlsmail.outbox;
DROP INDEX tlsmail.outbox_group;
ALTER TABLE tlsmail.outbox DROP COLUMN envelope, DROP COLUMN settings, DROP COLUMN content;
UPDATE tlsmail.outbox SET group_key = md5(group_key);
CREATE INDEX outbox_group ON tlsmail.outbox (group_key, next_attempt, id);
DO $$
DECLARE g record;
BEGIN
	FOR g IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.oid = 'tlsmail.outbox'::regclass AND a.grantee <> c.relowner
	LOOP
		EXECUTE format('GRANT %s ON tlsmail.message TO %s', g.privilege_type,
			CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
	END LOOP;
END $$;
`,
}

// Conn is what Migrate needs: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type Conn interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate creates the schema or brings it to SchemaVersion, in one
// transaction under an advisory lock (several processes may run it at
// once). It returns the version found before. A database of a newer
// version than this program's is refused.
func Migrate(ctx context.Context, c Conn) (from int, err error) {
	return migrateTo(ctx, c, SchemaVersion)
}

// migrateTo is Migrate up to version to (at most SchemaVersion): the tests
// make a database of an earlier version with it.
func migrateTo(ctx context.Context, c Conn, to int) (from int, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return 0, connErr("init", err)
	}
	defer tx.Rollback(ctx)
	// READ COMMITTED, whatever the database's default: the version is
	// read after the advisory lock is taken, and must see what the
	// Migrate that held it committed (a stricter level reads with a
	// snapshot taken before the lock was granted).
	var level string
	if err := tx.QueryRow(ctx, `SHOW transaction_isolation`, pgx.QueryExecModeSimpleProtocol).Scan(&level); err != nil {
		return 0, connErr("init", err)
	}
	if level != "read committed" {
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL READ COMMITTED`); err != nil {
			return 0, &Error{Op: "init", Msg: "cannot migrate the queue schema in a transaction of isolation level " + level, Err: err,
				Fix: "run the migration on a connection of its own, or in a READ COMMITTED transaction"}
		}
	}
	// Every statement of a migration has its values in its text and goes
	// by the simple protocol: a connection pooler in transaction mode
	// carries it whatever the connection's query mode (a statement that
	// one `queue init` prepared on a server connection was met by the
	// next: "prepared statement ... already exists").
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tlsmail.outbox schema'))`); err != nil {
		return 0, connErr("init", err)
	}
	from, err = version(ctx, tx)
	if err != nil {
		return 0, err
	}
	if from > SchemaVersion {
		return from, newerSchema("init", from)
	}
	for v := from + 1; v <= to; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return from, &Error{Op: "init", Msg: fmt.Sprintf("cannot apply the queue schema version %d", v), Err: err,
				Fix: "check that the database user may create schemas and tables"}
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE tlsmail.schema_version SET version = %d`, v)); err != nil {
			return from, connErr("init", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return from, connErr("init", err)
	}
	return from, nil
}

// version is the schema version of the database; 0 when there is none.
func version(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('tlsmail.schema_version') IS NOT NULL`, pgx.QueryExecModeSimpleProtocol).Scan(&exists); err != nil {
		return 0, connErr("open", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRow(ctx, `SELECT version FROM tlsmail.schema_version`, pgx.QueryExecModeSimpleProtocol).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		// The database answered: the row was removed by hand.
		return 0, &Error{Op: "open", Err: ErrNoSchema,
			Msg: "the table tlsmail.schema_version is empty: the queue schema's version is unknown",
			Fix: fmt.Sprintf("put back its one row, the version of the schema the tables have (this program's is %d), as docs/queue-postgres.md describes it", SchemaVersion)}
	}
	if err != nil {
		return 0, connErr("open", err)
	}
	return v, nil
}

// newerSchema is the error for a database whose schema, version v, is
// newer than this program's.
func newerSchema(op string, v int) error {
	return &Error{Op: op, Err: ErrNewerSchema,
		Msg: fmt.Sprintf("the database's queue schema is version %d, newer than this program's %d", v, SchemaVersion),
		Fix: "use a newer tlsmail with this database (a schema is never downgraded)"}
}
