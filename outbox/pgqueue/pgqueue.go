// Package pgqueue is the outbox on PostgreSQL: an outbox.Store for many
// machines sharing one queue, with the spool directory's promises stated
// for a database.
//
//   - Durable when EnqueueData returns: the item is committed. EnqueueTx
//     queues inside the caller's own transaction (the transactional
//     outbox): the message exists if and only if the caller's change is
//     committed.
//   - One runner per item at a time: Run claims a batch with
//     SELECT ... FOR UPDATE SKIP LOCKED and marks it with a lease (owner and
//     expiry, renewed while the batch is delivered). The items of a runner
//     that died come back when its lease ends (Options.Lease).
//   - An item is deleted on its final 250; a temporary failure is deferred
//     with the outbox.Backoff; a permanent failure, or an item older than
//     MaxAge, moves to the failed table with the reason. Delivery is
//     at-least-once: a duplicate only for an item in flight when its
//     runner died, at most Options.MaxUnrecorded + 1 per connection (the
//     deliverer waits for the database past that), or, for a crash of
//     the database server, a deletion committed asynchronously in its
//     last moments (see deleteDelivered).
//   - Batches hold items of one grouping key, the settings as enqueued
//     (the account), so that one connection serves them.
//   - No password or token is stored: the settings are where to read the
//     secret (submit.Account's SecretRef), and outbox.Data must not hold
//     one.
//   - An enqueue notifies the channel Channel when it commits; Listen (an
//     outbox.Notifier) wakes a submit.Worker at once.
//
// The schema is versioned and documented in schema.go; Migrate (`tlsmail
// queue init --queue-url URL`) creates or migrates it, and Open refuses a
// database without it.
//
// Credentials come the way libpq users expect: the URL (or a key=value
// string) is read by pgx, which takes what the URL leaves out from the PG*
// environment variables (PGHOST, PGUSER, PGPASSWORD, PGSSLMODE, ...) and
// the password file (PGPASSFILE, ~/.pgpass); sslmode=verify-full verifies
// the server. The command line never takes a password in the URL.
//
// Times (leases, next attempts, ages) are the database server's clock, so
// that the runner hosts' clocks do not matter.
package pgqueue

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/tlsmail/tlsmail/outbox"
)

// Error is the outbox's error type.
type Error = outbox.Error

// ErrUnavailable is returned (wrapped) when the database cannot be
// reached or a statement fails for a reason outside this package (a
// temporary condition: tlsmail exits 75).
var ErrUnavailable = errors.New("the queue database is unavailable")

// ErrNoSchema is returned (wrapped) by Open when the database has no
// queue schema, or one of another version.
var ErrNoSchema = errors.New("the queue database has no queue schema of this version")

// ErrNewerSchema is returned (wrapped) by Open and Migrate when the
// database's schema is newer than this program's (a newer version of
// tlsmail migrated it): Migrate does not downgrade a schema, so the fix is
// a newer program. It wraps ErrNoSchema.
var ErrNewerSchema = fmt.Errorf("%w: the database's is newer", ErrNoSchema)

// ErrClosed is returned (wrapped) by an operation on a Queue after its
// Close: the Queue is not usable after (a run under way ends with it;
// stop a run, by its context, before closing its Queue). It is also
// outbox.ErrClosed (errors.Is), on which a Worker stops.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string { return "the queue is closed" }
func (closedError) Unwrap() error { return outbox.ErrClosed }

// ErrPooler is returned (wrapped) when the queue reaches PostgreSQL
// through a connection pooler (PgBouncer, say) configured in a way the
// queue cannot work with. By Open, when the URL asks for a query mode
// (pgx's default_query_exec_mode) whose statements outlive one
// transaction: cache_statement (named prepared statements, kept per
// client connection) or describe_exec (a statement described in one
// round trip and run in the next). A pooler in transaction mode hands
// each transaction to any server connection, so such statements fail at
// random ("prepared statement ... already exists" or "does not exist"),
// a deletion of delivered messages among them (sent again when their
// lease ends). By Open (which tries an empty transaction on a connection
// through a pooler) and by any operation that begins a transaction (an
// enqueue, a claim, Migrate), when the pooler is in statement mode
// (PgBouncer's pool_mode=statement), which refuses transactions. A
// configuration error: retrying does not heal it.
var ErrPooler = errors.New("the queue cannot work through the connection pooler as configured")

// DefaultMaxSize is the largest message the queue accepts: the default
// of Options.MaxSize and its ceiling. A message is held in memory at
// enqueue (a bytea value; a delivery reads it a slice at a time), so the
// limit is what keeps an enqueuing program's memory bounded; larger
// messages belong in a spool directory, which streams them.
const DefaultMaxSize = 64 << 20

// ErrTooLarge is the cause of the error EnqueueData and EnqueueTx return
// for a message over the limit (nothing is stored); it wraps
// outbox.ErrTooLarge, so that a caller that handles the spool's limit
// handles this one.
var ErrTooLarge = fmt.Errorf("%w for the PostgreSQL queue", outbox.ErrTooLarge)

// ErrEnvelopeTooLarge is the cause of the error EnqueueData and EnqueueTx
// return for an envelope over MaxEnvelope, or with more than MaxRecipients
// recipients (nothing is stored).
var ErrEnvelopeTooLarge = errors.New("the envelope is too large for the PostgreSQL queue")

// DefaultMaxUnrecorded is Options.MaxUnrecorded's default: enough for the
// deletions to be grouped behind a busy connection (section 8 of
// docs/benchmarks.md measured no loss of rate against unbounded groups),
// few enough that a killed worker with --parallel 4 sends at most 36
// messages again.
const DefaultMaxUnrecorded = 8

// DefaultLease is how long a claim lasts without renewal by default.
const DefaultLease = 5 * time.Minute

// MinLease is the shortest lease a Queue takes (a shorter Options.Lease
// is raised to it): the lease is renewed every third of it, and a runner
// opens no message once 5/6 of it may have passed, so a lease shorter
// than a database round trip would end before any message is sent.
const MinLease = time.Second

// MaxLease is the longest lease a Queue takes (a longer Options.Lease is
// lowered to it), and so the longest a claim is honoured: a row whose
// lease_until is further than MaxLease from now was not set by a runner
// (a row written by hand or by a hostile host, 'infinity' say) and is
// claimed, removed and settled as if it had no lease. A lease is renewed
// every third of it, so a longer one only delays the return of a dead
// runner's items.
const MaxLease = time.Hour

// Options configures a Queue.
type Options struct {
	// MaxAge is how long an item may stay queued (outbox.DefaultMaxAge
	// when zero).
	MaxAge time.Duration
	// Backoff spaces out retries.
	Backoff outbox.Backoff
	// Lease is how long a claimed item stays a runner's without renewal
	// (renewed every third of it while delivered); DefaultLease when zero,
	// at least MinLease, at most MaxLease.
	Lease time.Duration
	// MaxSize caps a message's size: DefaultMaxSize when zero, and
	// never more than DefaultMaxSize (a larger value is lowered to it).
	// The content is held in memory at enqueue.
	MaxSize int64
	// Logf receives warnings; nil discards them.
	Logf func(format string, args ...any)
	// MaxUnrecorded is how many delivered items (their 250 received) one
	// connection may have whose deletion is not yet committed before its
	// deliverer waits for the database: DefaultMaxUnrecorded when zero.
	// A runner that dies sends again at most MaxUnrecorded + 1 messages
	// per connection (the +1: the one whose 250 it had not yet read).
	MaxUnrecorded int
	// ListenCheck is how long Listen's connection may stay silent before
	// it is checked with a ping, which must be answered within half of
	// it; DefaultListenCheck when zero. A connection whose peer vanished
	// without closing it (a host or network failure, a NAT or firewall
	// that dropped the flow) is then found within 1.5 × ListenCheck and
	// opened again, instead of after TCP's keepalive (hours), during
	// which the worker heard no enqueue. At least a second.
	ListenCheck time.Duration
}

// DefaultListenCheck is Options.ListenCheck's default: a half-open
// LISTEN connection is found within 45 seconds, for one short query per
// idle worker every 30 seconds.
const DefaultListenCheck = 30 * time.Second

// Queue is an outbox on PostgreSQL. It is safe for concurrent use; any
// number of processes on any number of hosts may use one database.
type Queue struct {
	pool  *pgxpool.Pool
	cfg   *pgxpool.Config
	socks *sockets // every connection's socket (Close shuts those left)
	opts  Options
	owner string // this Queue's lease owner name (Owner)
	// opTimeout bounds each database operation, enqueueTimeout an
	// EnqueueData's (the constants; the tests shorten them).
	opTimeout, enqueueTimeout time.Duration
	// beforeCommit, when set (by the tests), runs before an enqueue's
	// COMMIT is sent.
	beforeCommit func()
	// pooledRetry is how long Listen waits after ErrNotifyPooled before
	// it tries LISTEN again (pooledListenRetry; the tests shorten it).
	pooledRetry time.Duration
	// listenTry, when set, is called at each LISTEN connection Listen
	// opens (the tests count them).
	listenTry func()
	// backendPID, when set (by the tests), replaces the process ID an
	// enqueue's statement reported (another session's: as if the
	// backend had gone and its PID been given to a new one).
	backendPID func(int64) int64
	// txRef, when set (by the tests), replaces what names an enqueue's
	// transaction in the server (another client's, in progress: as if,
	// through a pooler, the backend had finished the enqueue's
	// transaction and been handed to another client).
	txRef func(txRef) txRef
	// idleTx is how long an enqueue's transaction may stay idle in the
	// server (enqueueIdleTimeout; the tests shorten it).
	idleTx time.Duration
}

// enqueueIdleTimeout is the idle_in_transaction_session_timeout an
// enqueue (EnqueueData) sets for its own transaction (SET LOCAL): the
// server ends a session that stays idle inside the enqueue's transaction
// longer than this (its client gone before the COMMIT arrived), which
// ends the transaction without a COMMIT, so that commitLost learns the
// outcome without signalling any backend. Between the enqueue's INSERT
// and its COMMIT the client does nothing but send the COMMIT: a healthy
// one is idle there for a round trip. Well below opTimeout, the bound of
// commitLost's question.
const enqueueIdleTimeout = 15 * time.Second

// Open connects to the database at url (a postgres:// URL or libpq
// key=value string, see the package documentation) and checks its schema.
func Open(ctx context.Context, url string, opts Options) (*Queue, error) {
	cfg, err := ParseConfig(url)
	var own *Error
	if errors.As(err, &own) {
		return nil, err // says what to do itself (a service defined nowhere)
	}
	if err != nil {
		return nil, &Error{Op: "open", Msg: "cannot read the queue URL", Err: redact(err),
			Fix: "give a URL like postgres://user@host/db?sslmode=verify-full (the password from PGPASSFILE or PGPASSWORD)"}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = outbox.DefaultMaxAge
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	opts.Lease = min(max(opts.Lease, MinLease), MaxLease)
	if opts.MaxSize <= 0 || opts.MaxSize > DefaultMaxSize {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxUnrecorded <= 0 {
		opts.MaxUnrecorded = DefaultMaxUnrecorded
	}
	if opts.ListenCheck <= 0 {
		opts.ListenCheck = DefaultListenCheck
	}
	opts.ListenCheck = max(opts.ListenCheck, time.Second)
	// Every connection (the pool's, and those the Queue makes itself
	// from cfg.ConnConfig) is dialled through socks; a connection pgx
	// gave up on is shut rather than waited for (sockets).
	socks := newSockets()
	cfg.ConnConfig.DialFunc = socks.dial(cfg.ConnConfig.DialFunc)
	cfg.ConnConfig.AfterNetConnect = socks.hold(cfg.ConnConfig.AfterNetConnect)
	beforeClose := cfg.BeforeClose
	cfg.BeforeClose = func(c *pgx.Conn) {
		if beforeClose != nil {
			beforeClose(c)
		}
		abandon(c)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, connErr("open", err)
	}
	q := &Queue{pool: pool, cfg: cfg, socks: socks, opts: opts, owner: ownerName(), opTimeout: opTimeout, enqueueTimeout: wholeTimeout, idleTx: enqueueIdleTimeout, pooledRetry: pooledListenRetry}
	vctx, cancel := q.bound(ctx)
	defer cancel()
	if err := q.throughPooler(ctx, vctx, url); err != nil {
		q.Close()
		return nil, err
	}
	pool = q.pool
	v, err := version(vctx, pool)
	if err != nil {
		q.Close()
		return nil, err
	}
	if v > SchemaVersion {
		q.Close()
		return nil, newerSchema("open", v)
	}
	if v != SchemaVersion {
		q.Close()
		return nil, &Error{Op: "open", Err: ErrNoSchema,
			Msg: fmt.Sprintf("the database's queue schema is version %d, this program's %d", v, SchemaVersion),
			Fix: "create or migrate the queue schema with pgqueue.Migrate"}
	}
	return q, nil
}

// throughPooler checks whether the queue's connections go through a
// connection pooler, and if so makes the queue's statements ones that a
// pooler in transaction mode carries: when the URL names no query mode,
// the Queue uses pgx's "exec" (each statement parsed, bound and run in
// one round trip, with an unnamed statement), as a pgx user behind
// PgBouncer sets default_query_exec_mode=exec; a URL that asks for
// cache_statement or describe_exec is refused (ErrPooler).
//
// A pooler is told by the process ID: the server's own
// (pg_backend_pid()) differs from the one the connection's start-up
// reported (BackendKeyData, which a pooler such as PgBouncer makes up,
// since its clients share the server's connections), while a direct
// connection, or one through a plain TCP proxy, reports the backend's.
// Whether the pooler shares server connections per transaction or per
// session cannot be told from a client, so the rule holds for both (the
// exec mode works in both).
func (q *Queue) throughPooler(ctx, vctx context.Context, url string) error {
	pooled, err := pooledConn(vctx, q.pool)
	if err != nil || !pooled {
		return err
	}
	params, _ := connParams(url)
	mode, set := params["default_query_exec_mode"]
	if set {
		switch q.cfg.ConnConfig.DefaultQueryExecMode {
		case pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec:
			return &Error{Op: "open", Err: ErrPooler,
				Msg: fmt.Sprintf("the queue URL reaches PostgreSQL through a connection pooler (the server's process ID differs from the connection's) and asks for default_query_exec_mode=%s, whose statements a pooler in transaction mode hands to other server connections (\"prepared statement ... does not exist\"), a deletion of delivered messages among them", mode),
				Fix: "put default_query_exec_mode=exec in the queue URL (or leave the parameter out: the queue then uses exec behind a pooler), which works in every pool mode"}
		}
		return nil
	}
	q.cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	q.pool.Close()
	pool, err := pgxpool.NewWithConfig(ctx, q.cfg)
	if err != nil {
		return connErr("open", err) // q.pool is the closed one: Close stays safe
	}
	q.pool = pool
	return nil
}

// pooledConn reports whether a connection of pool goes through a
// connection pooler (throughPooler). Through one, it also tries a
// transaction (an empty one, rolled back): a pooler in statement mode
// (PgBouncer's pool_mode=statement) refuses it, as it would every
// enqueue, claim and migration, and that is told here (ErrPooler, by
// connErr), at open, rather than by every operation of a worker that
// would go on failing at each pass.
func pooledConn(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return false, connErr("open", err)
	}
	defer c.Release()
	p, err := pooled(ctx, c.Conn())
	if err != nil {
		return false, connErr("open", err)
	}
	if p {
		tx, err := c.Conn().Begin(ctx)
		if err == nil {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			return false, connErr("open", err)
		}
	}
	return p, nil
}

// pooled reports whether conn goes through a connection pooler: the
// server's process ID is not the one the connection's start-up reported.
// (The simple protocol, which every pooler carries, whatever the query
// mode of the URL.)
func pooled(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var pid int64
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`, pgx.QueryExecModeSimpleProtocol).Scan(&pid); err != nil {
		return false, err
	}
	return pid != int64(conn.PgConn().PID()), nil
}

// ParseConfig reads a queue URL (a postgres:// URL or libpq key=value
// string) as pgx does, with one stricter default: when the connection
// goes over the network (a host that is neither a Unix socket directory
// nor a loopback address) and nothing sets sslmode (the URL, the entry of
// a named service, PGSSLMODE), it is verify-full rather than libpq's
// "prefer", which accepts any certificate and falls back to an
// unencrypted connection, so that the queue's messages and the database
// password never cross the network unprotected unless something says so
// (sslmode=disable, require).
//
// A service (service= in the string, or PGSERVICE) is looked up as libpq
// does it (findService: the user's service file, then pg_service.conf in
// PGSYSCONFDIR), and pgx is given the file it was found in, so that the
// entry whose sslmode is checked is the one pgx reads.
func ParseConfig(connString string) (*pgxpool.Config, error) {
	params, ok := connParams(connString)
	if !ok {
		// pgx's error, if it has one; else the string is read in a way
		// this function does not understand, and is refused rather than
		// left to libpq's default.
		cfg, err := pgxpool.ParseConfig(connString)
		if err != nil {
			return cfg, err
		}
		return nil, &Error{Op: "open", Msg: "cannot read the parameters of the queue URL",
			Fix: "give a URL like postgres://user@host/db?sslmode=verify-full, or key=value pairs separated by spaces"}
	}
	// The sslmode pgx applies: the string's, else the service's, else
	// PGSSLMODE; an empty one is libpq's default, as none.
	mode, set := params["sslmode"]
	name, named := params["service"]
	if !named {
		name = os.Getenv("PGSERVICE")
	}
	if name != "" {
		svc, err := findService(name, params["servicefile"])
		if err != nil {
			return nil, err
		}
		if svc.file != params["servicefile"] {
			connString = withParam(connString, "servicefile", svc.file)
		}
		if !set {
			mode, set = svc.settings["sslmode"]
		}
	}
	if !set {
		mode = os.Getenv("PGSSLMODE")
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil || mode != "" {
		return cfg, err
	}
	remote := !localHost(cfg.ConnConfig.Host)
	for _, f := range cfg.ConnConfig.Fallbacks {
		remote = remote || !localHost(f.Host)
	}
	if !remote {
		return cfg, nil
	}
	return pgxpool.ParseConfig(withParam(connString, "sslmode", "verify-full"))
}

// localHost reports whether a connection to host stays on this machine:
// a Unix socket directory or a loopback address.
func localHost(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Owner is the name this Queue writes into the lease_owner column of the
// items it claims: host/pid/random, so that an operator (or a test) can
// tell which process on which host holds an item, and two Queues of one
// process are still told apart.
func (q *Queue) Owner() string { return q.owner }

func ownerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var r [4]byte
	crand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", strings.ReplaceAll(host, "/", "_"), os.Getpid(), hex.EncodeToString(r[:]))
}

// Pool is the Queue's connection pool (for EnqueueTx in the caller's
// transactions, say).
func (q *Queue) Pool() *pgxpool.Pool { return q.pool }

// Close closes the connections: a healthy one with the protocol's
// goodbye (Terminate), as pgx closes it. A connection whose operation was
// cancelled or timed out, on which pgx would wait up to 15 s for a peer
// that may be gone, is shut after closeGrace (a second), and so is a
// cancel request still under way (see sockets). An operation under way
// on a live connection is waited for, as pgxpool's Close does (each of
// the Queue's own is bounded, and one whose peer has gone ends at its
// bound): a COMMIT the server is making is not cut. So Close returns
// within about a second once no operation is under way, and leaves no
// connection and no goroutine of the Queue's pool behind; the Queue is
// not usable after (its operations fail with ErrClosed, and a run under
// way ends with it).
func (q *Queue) Close() {
	t := time.AfterFunc(closeGrace, q.socks.shutdown)
	defer t.Stop()
	q.pool.Close()
}

func (q *Queue) logf(format string, args ...any) {
	if q.opts.Logf != nil {
		q.opts.Logf(format, args...)
	}
}

// connErr wraps a database error as ErrUnavailable, unless it is the
// server refusing a statement for a reason of its own (a constraint), or
// an answer this program cannot read (a row of a table changed by hand or
// by another program): the database answered, so it is not unavailable.
func connErr(op string, err error) error {
	var se pgx.ScanArgError
	if errors.As(err, &se) {
		return &Error{Op: op, Msg: "cannot read the queue database's answer", Err: err,
			Fix: "the queue's tables may have been changed by hand or by another program: compare them with the schema of this version (docs/queue-postgres.md); `queue init` creates a missing schema but does not repair one"}
	}
	if ue, ok := asUnreadable(err); ok {
		return &Error{Op: op, ID: ue.ID, Msg: ue.Error(), Err: ue,
			Fix: "a queue run moves it to the failed items; check it there, and send the message again"}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.Contains(pe.Message, "statement pooling mode") {
		// PgBouncer's refusal of a transaction (SQLSTATE 08P01, as for a
		// broken connection, so told by its text): not the database
		// being unavailable, and no retry heals it.
		return &Error{Op: op, Err: fmt.Errorf("%w (%w)", ErrPooler, err),
			Msg: "the connection pooler runs in statement mode, which refuses transactions, and the queue's enqueues, claims and migrations are transactions",
			Fix: "give the queue a pool in transaction mode (with default_query_exec_mode=exec in the URL, or none) or in session mode (PgBouncer's pool_mode)"}
	}
	if errors.As(err, &pe) && pe.Code == "25P03" {
		// idle_in_transaction_session_timeout (an enqueue sets one for
		// its transaction, enqueueIdleTimeout): the server ended the
		// session before the next statement (a COMMIT) arrived, so the
		// transaction was rolled back. A passing condition.
		return &Error{Op: op, Err: unavailable{err},
			Msg: "the queue database ended the connection: its transaction stayed idle between two statements longer than idle_in_transaction_session_timeout (this program was stopped, or the network stalled), and was rolled back: nothing of it was written",
			Fix: "try again"}
	}
	if errors.As(err, &pe) && pe.Code[:2] != "08" && pe.Code[:2] != "57" && pe.Code[:2] != "53" {
		msg := "the queue database refused the statement"
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			msg = "the queue database refused the connection"
		}
		if pe.Code == "42P01" || pe.Code == "3F000" {
			// No table or schema: errors.Is finds ErrNoSchema, as for Open.
			err = fmt.Errorf("%w (%w)", ErrNoSchema, err)
		}
		return &Error{Op: op, Msg: msg, Err: err, Fix: refusedFix(pe.Code)}
	}
	if errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, ErrClosed) {
		// Not the database: this program closed the Queue.
		return &Error{Op: op, Msg: "used after Close", Err: ErrClosed,
			Fix: "stop what uses the Queue (cancel a run's context and wait for it) before closing it"}
	}
	fix := "check that PostgreSQL is running and reachable, and the URL, PG* variables and password file; then try again"
	if errors.Is(err, context.DeadlineExceeded) {
		fix = "the database did not answer in time: check that PostgreSQL is running and reachable (a connection to a host or network that vanished answers nothing, and is closed after a minute); then try again"
	}
	return &Error{Op: op, Msg: ErrUnavailable.Error(), Err: unavailable{redact(err)}, Fix: fix}
}

// refusedFix says what to check when the server refuses a connection or a
// statement with this SQLSTATE (PostgreSQL's documentation, appendix A).
func refusedFix(code string) string {
	switch {
	case code == "3D000": // invalid_catalog_name
		return "check the database name in the queue URL (or PGDATABASE)"
	case code == "42501": // insufficient_privilege
		return "GRANT the database role the rights its part needs (docs/deployment.md, 'Database access')"
	case code == "42P01", code == "3F000": // undefined_table, invalid_schema_name
		return "create or migrate the queue schema (the queue's init command)"
	case code == "26000", code == "42P05": // invalid_sql_statement_name, duplicate_prepared_statement
		return "a prepared statement met another client's server connection: through a connection pooler in transaction mode (PgBouncer's pool_mode=transaction), put default_query_exec_mode=exec in the URL of the program's connections, or use session pooling"
	case code[:2] == "28": // invalid_authorization_specification
		return "check the user and its password (~/.pgpass, PGPASSFILE or PGPASSWORD) and the server's pg_hba.conf"
	}
	return "see the PostgreSQL server's log for the statement's error"
}

// unavailable is a connection failure: its text, and ErrUnavailable.
type unavailable struct{ err error }

func (u unavailable) Error() string   { return u.err.Error() }
func (u unavailable) Unwrap() []error { return []error{ErrUnavailable, u.err} }

// ConnError is err, a failure of op (a connection or a statement) against
// the queue database, as this package reports it: an *Error whose fix
// suits the SQLSTATE when the server refused it for a reason of its own
// (no such database, no right), else an *Error that errors.Is finds as
// ErrUnavailable (the database could not be reached).
func ConnError(op string, err error) error { return connErr(op, err) }

// redact keeps a password given in a URL out of an error's text (pgx
// quotes the connection string in parse errors).
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string (not shown: it may hold a password)")
	}
	return err
}

// newID is a fresh item ID: the time in microseconds (hex, so IDs sort in
// creation order) and 64 random bits.
func newID() string {
	var r [8]byte
	crand.Read(r[:])
	return fmt.Sprintf("%013x", time.Now().UnixMicro()) + hex.EncodeToString(r[:])
}

// EnqueueData stores a message and commits it before returning, then
// notifies Channel. The message is read before the transaction begins:
// the bound on the database work (5 minutes) does not count the time it
// takes to arrive, and no transaction waits for it.
func (q *Queue) EnqueueData(ctx context.Context, env outbox.Envelope, d outbox.Data, r io.Reader) (string, error) {
	envJSON, content, err := q.prepare(env, d, r)
	if err != nil {
		return "", err
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, q.enqueueTimeout)
	defer cancel()
	tx, err := q.pool.Begin(ctx)
	if err != nil {
		return "", connErr("enqueue", err)
	}
	defer tx.Rollback(ctx)
	id, x, err := q.insert(ctx, tx, envJSON, d, content, q.idleTx)
	if err != nil {
		return "", err
	}
	// The process ID the connection's start-up reported is the backend's
	// only on a connection of its own (not through a pooler, whose
	// clients share backends: see throughPooler).
	x.own = x.pid == int64(tx.Conn().PgConn().PID())
	if q.backendPID != nil {
		x.pid = q.backendPID(x.pid)
	}
	if q.txRef != nil {
		x = q.txRef(x)
	}
	if q.beforeCommit != nil {
		q.beforeCommit()
	}
	if err := tx.Commit(ctx); err != nil {
		return q.commitLost(caller, id, x, err)
	}
	return id, nil
}

// commitLost settles an enqueue whose COMMIT got no answer (the
// connection broke or the bound passed): the server may have committed
// it. Reporting it as not queued would have the caller send the message
// again (a duplicate); reporting it as queued could lose it. So the
// outcome is read from the database, on another connection, by the
// transaction's ID (txid_status, PostgreSQL's documentation, section
// 9.27.5: made for "a COMMIT whose answer was lost"), not by looking the
// item up: a worker woken by the COMMIT's notification may already have
// delivered and deleted it. While the transaction is in progress, its
// backend is ended (pg_terminate_backend; a backend whose client vanished
// otherwise stays until TCP keepalive ends it), so that its COMMIT cannot
// happen later; the backend ended is the one whose transaction is this
// one (pg_stat_activity's backend_xid), never another session that got
// the process ID since. Through a connection pooler no backend is ended:
// the pooler hands a backend to another client as soon as a transaction
// ends, so between the check of backend_xid and the signal the enqueue's
// COMMIT could arrive and another client's transaction begin on it, and
// the signal would end that client's session. There the transaction's
// own idle_in_transaction_session_timeout (enqueueIdleTimeout, set by
// the enqueue for its transaction alone) ends a transaction whose COMMIT
// never came, and the question is asked until it has ended. The
// question is asked again while the database cannot be reached, until
// the bound (opTimeout) passes, or for interruptGrace once ctx is done
// (the caller gave up: Ctrl-C). Only when the database cannot be asked
// is the outcome left open, and the error says so, with the item's ID.
// A COMMIT the server answered with an error (a PgError) did not commit.
func (q *Queue) commitLost(ctx context.Context, id string, x txRef, err error) (string, error) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return "", connErr("enqueue", err)
	}
	rctx, cancel := q.bound(context.WithoutCancel(ctx))
	defer cancel()
	// A caller that gave up (ctx done: an interrupted command) still
	// hears the outcome from a database that answers, but waits for one
	// that does not for interruptGrace, not the whole bound.
	go func() {
		select {
		case <-ctx.Done():
		case <-rctx.Done():
			return
		}
		t := time.NewTimer(interruptGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-rctx.Done():
		}
	}()
	// Asked again while the database cannot be reached (a server that
	// restarts or fails over, the usual reason an answer is lost, refuses
	// connections for a while), until the bound passes; not when it
	// refuses the question (a right, a password).
	var st string
	var serr error
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		st, serr = q.txStatus(rctx, x)
		if serr == nil || errors.Is(serr, errTxForgotten) || !errors.Is(connErr("enqueue", serr), ErrUnavailable) {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-rctx.Done():
		case <-t.C:
		}
		t.Stop()
		if rctx.Err() != nil {
			break
		}
	}
	switch {
	case serr == nil && st == "committed":
		q.logf("outbox: the database did not answer the commit of %s, and committed it: queued", id)
		return id, nil
	case serr == nil:
		return "", connErr("enqueue", err) // aborted: nothing written
	}
	q.logf("outbox: the database did not answer the commit of %s, and could not be asked whether it made it: %v", id, redact(serr))
	var ce *Error
	errors.As(connErr("enqueue", err), &ce) // always an *Error
	ce.ID = id
	ce.Msg = "the queue database did not answer the commit, and could not be asked whether it made it: the message may be queued as " + id
	ce.Fix = "once the database answers again, look the item up by its ID before sending the message again"
	return "", ce
}

// txStatus asks the database, on a connection of its own (the pool's
// idle ones may have gone the way of the broken one), whether the
// transaction x committed ("committed") or not ("aborted"), ending its
// backend while it is in progress when the backend was the enqueue's own
// (x.own: not through a pooler); else waiting for the transaction's idle
// timeout to end it.
func (q *Queue) txStatus(ctx context.Context, x txRef) (string, error) {
	// Asked also while the Queue is being closed: the enqueue began
	// before Close, and its caller is waiting for the answer.
	conn, err := pgx.ConnectConfig(pastClose(ctx), q.cfg.ConnConfig)
	if err != nil {
		return "", err
	}
	defer closeConn(ctx, conn)
	// The 32-bit xid pg_stat_activity shows: the low half of the
	// epoch-extended one txid_current gives.
	xid := strconv.FormatInt(x.txid&0xFFFFFFFF, 10)
	for {
		var st *string
		if err := conn.QueryRow(ctx, `SELECT txid_status($1)`, x.txid).Scan(&st); err != nil {
			return "", err
		}
		if st == nil {
			return "", errTxForgotten
		}
		if *st != "in progress" {
			return *st, nil
		}
		if x.own {
			// (count, not "pg_terminate_backend(pid) OR true": the planner
			// folds that to true without calling the function.)
			var n int64
			if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE pid = $1 AND backend_xid::text = $2`, x.pid, xid).Scan(&n); err != nil {
				return "", err
			}
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// closeConn closes conn within closeTimeout, whatever ctx's state: the
// goodbye is written to a peer that may be gone. A connection pgx has
// already given up on (an operation cancelled or timed out) is shut after
// closeGrace instead (abandon).
func closeConn(ctx context.Context, conn *pgx.Conn) {
	abandon(conn)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	conn.Close(cctx)
}

// closeTimeout bounds closeConn.
const closeTimeout = 5 * time.Second

// interruptGrace is how long commitLost asks a database that does not
// answer once its caller has given up.
const interruptGrace = 5 * time.Second

// errTxForgotten: txid_status has no answer for the transaction (its
// status was truncated away, which takes far longer than commitLost's
// bound).
var errTxForgotten = errors.New("the database no longer knows the transaction")

// txRef names an enqueue's transaction in the server: its backend's
// process ID (pg_backend_pid: the server's own, also through a pooler,
// whose connection protocol reports a process ID of its own) and its
// transaction ID (txid_current: epoch-extended, never reused); own says
// the backend served the enqueue's connection alone (the process IDs
// agree: no pooler between), so that commitLost may end it.
type txRef struct {
	pid, txid int64
	own       bool
}

// EnqueueTx queues a message inside the caller's transaction tx: the item
// (and the notification of the workers) exists once tx commits, and not
// at all if it rolls back. The content is read whole, up to MaxSize.
func (q *Queue) EnqueueTx(ctx context.Context, tx pgx.Tx, env outbox.Envelope, d outbox.Data, r io.Reader) (string, error) {
	envJSON, content, err := q.prepare(env, d, r)
	if err != nil {
		return "", err
	}
	id, _, err := q.insert(ctx, tx, envJSON, d, content, 0)
	return id, err
}

// prepare checks an item to enqueue and reads its message: the
// envelope's JSON and the content.
func (q *Queue) prepare(env outbox.Envelope, d outbox.Data, r io.Reader) (envJSON, content []byte, err error) {
	if len(env.To) == 0 {
		return nil, nil, &Error{Op: "enqueue", Msg: "no recipients", Fix: "give at least one recipient"}
	}
	if !json.Valid(d.Settings) || len(d.Settings) == 0 || d.Settings[0] != '{' {
		return nil, nil, &Error{Op: "enqueue", Msg: "the item's settings are not a JSON object", Fix: "encode the settings as a JSON object"}
	}
	if len(env.To) > MaxRecipients {
		return nil, nil, &Error{Op: "enqueue", Err: ErrEnvelopeTooLarge,
			Msg: fmt.Sprintf("the envelope has %d recipients, over the PostgreSQL queue's limit of %d", len(env.To), MaxRecipients),
			Fix: "send the message to fewer recipients at a time (a list server or several messages), or queue it in a spool directory"}
	}
	envJSON, err = json.Marshal(&env)
	if err != nil {
		return nil, nil, &Error{Op: "enqueue", Msg: "cannot encode the envelope", Err: err}
	}
	if len(envJSON) > MaxEnvelope {
		return nil, nil, &Error{Op: "enqueue", Err: ErrEnvelopeTooLarge,
			Msg: fmt.Sprintf("the envelope (sender and %d recipients) is %d bytes, over the PostgreSQL queue's limit of %d KiB", len(env.To), len(envJSON), MaxEnvelope>>10),
			Fix: "send the message to fewer recipients at a time (a list server or several messages), or queue it in a spool directory"}
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, q.opts.MaxSize+1))
	if err != nil {
		return nil, nil, &Error{Op: "enqueue", Msg: "cannot read the message", Err: err}
	}
	if n > q.opts.MaxSize {
		return nil, nil, &Error{Op: "enqueue", Err: ErrTooLarge,
			Msg: fmt.Sprintf("the message is larger than the PostgreSQL queue's limit of %d bytes (at most %d MiB: the queue holds a message in memory)", q.opts.MaxSize, DefaultMaxSize>>20),
			Fix: "send it directly instead of queueing it, or queue it in a spool directory, which streams messages of any size"}
	}
	return envJSON, buf.Bytes(), nil
}

// insert stores a prepared item in tx, and returns its ID and what names
// tx in the server (for commitLost). A positive idle sets tx's
// idle_in_transaction_session_timeout (for tx alone: set_config's
// is_local, as SET LOCAL), in the same statement.
func (q *Queue) insert(ctx context.Context, tx pgx.Tx, envJSON []byte, d outbox.Data, content []byte, idle time.Duration) (string, txRef, error) {
	idleMS := ""
	if idle > 0 {
		idleMS = strconv.FormatInt(max(idle.Milliseconds(), 1), 10)
	}
	id := newID()
	// One statement: the message, its queue row (grouped by the digest
	// of the settings as given) and the notification, sent when tx
	// commits. The JSON goes as text: in the query modes that take a
	// parameter's type from its Go type (default_query_exec_mode=exec or
	// simple_protocol in the URL, the modes for a pooler such as
	// PgBouncer), a []byte is bytea, which jsonb refuses.
	var x txRef
	if err := tx.QueryRow(ctx, `WITH m AS (INSERT INTO tlsmail.message (id, envelope, settings, content) VALUES ($1, $2::text::jsonb, $3::text::jsonb, $4)),
		o AS (INSERT INTO tlsmail.outbox (id, group_key, size) VALUES ($1, md5($3::text), $5))
		SELECT pg_backend_pid(), txid_current() FROM (SELECT pg_notify($6, ''),
			CASE WHEN $7::text <> '' THEN set_config('idle_in_transaction_session_timeout', $7::text, true) END) n`,
		id, string(envJSON), string(d.Settings), content, len(content), Channel, idleMS).Scan(&x.pid, &x.txid); err != nil {
		return "", txRef{}, connErr("enqueue", err)
	}
	return id, x, nil
}

// Listen is outbox.Notifier: it calls wake for each enqueue's
// notification of Channel (an empty payload; another is a probe), on a
// connection of its own, until ctx is done (it then returns nil) or, as
// it connects again, finds its Queue closed (ErrClosed).
//
// A connection through a connection pooler is probed first
// (probeListen): through a pooler in transaction mode a LISTEN is lost
// with its statement's server connection, and Options.Logf hears once
// that enqueues will not wake the worker (ErrNotifyPooled) and what to
// do; Listen tries again after pooledListenRetry.
//
// When the database cannot be reached or the connection breaks (a restart,
// a failover), Listen connects again by itself with exponential backoff
// (ListenBackoff, doubling up to ListenMaxBackoff, with jitter), so that a
// worker whose database is down makes neither a tight reconnect loop nor a
// log line per attempt: Options.Logf hears once that the channel was lost
// and once that it is back. After listening again it calls wake, because
// items may have been queued while nobody listened. A connection silent
// for Options.ListenCheck is checked with a ping; one that does not answer
// (its peer vanished without closing it: half-open) counts as broken.
func (q *Queue) Listen(ctx context.Context, wake func()) error {
	delay := ListenBackoff
	var lost time.Time
	// pooledWarned: ErrNotifyPooled has been said (once, whatever came
	// before it: a first attempt that failed for another reason).
	pooledWarned := false
	for {
		err := q.listen(ctx, func() {
			// LISTEN is in place.
			if pooledWarned {
				q.logf("outbox: notifications reach this worker again: enqueues wake it")
				pooledWarned = false
				lost = time.Time{}
				wake()
			}
			if !lost.IsZero() {
				q.logf("outbox: listening for new messages again (the database was unreachable for %s)", time.Since(lost).Round(time.Second))
				lost = time.Time{}
				wake()
			}
			delay = ListenBackoff
		}, wake)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrClosed) {
			return err // no connection again heals it
		}
		if errors.Is(err, ErrNotifyPooled) {
			// Not a passing failure: said once, and tried again only
			// after pooledListenRetry (a pooler's configuration may
			// change, but each try may leave a LISTEN behind).
			if !pooledWarned {
				pooledWarned = true
				q.logf("outbox: warning: %v", err)
			}
			if lost.IsZero() {
				lost = time.Now()
			}
			delay = q.pooledRetry
		} else if lost.IsZero() {
			lost = time.Now()
			q.logf("outbox: lost the notification channel (%v); connecting again with backoff (up to %s between attempts), passes still run at the interval", err, ListenMaxBackoff)
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, ListenMaxBackoff)
	}
}

// ErrNotifyPooled is returned (wrapped) by a LISTEN connection that goes
// through a connection pooler and does not receive the notification it
// sent itself: a pooler in transaction mode (PgBouncer's
// pool_mode=transaction) hands the server connection that ran LISTEN to
// other clients once the statement is over, so the listener hears nothing
// (PgBouncer 1.18 gives no error). Listen says so once and tries again
// now and then; the Worker's passes at its interval still find every
// message.
var ErrNotifyPooled = errors.New("notifications do not reach this connection through the connection pooler")

// probeWait bounds how long a LISTEN connection through a pooler waits
// for its own probe notification (at most Options.ListenCheck): a round
// trip through the server, milliseconds when it arrives at all.
const probeWait = 5 * time.Second

// probeListen checks, on a LISTEN connection that goes through a
// connection pooler (pooled), that notifications reach it: it notifies
// Channel with a probe payload of its own from another connection (the
// pool's: a notification sent by the listener's own client could run on
// the backend that listens and come back to it whatever the pool mode)
// and waits up to wait for it. Workers ignore a payload that is not
// empty, so the probe wakes none of them. A direct connection is not
// probed: a LISTEN there lasts as long as the connection. missed says an
// enqueue's notification arrived meanwhile (the caller wakes the worker).
func (q *Queue) probeListen(ctx context.Context, conn *pgx.Conn, wait time.Duration) (missed bool, err error) {
	var r [8]byte
	crand.Read(r[:])
	token := "probe " + hex.EncodeToString(r[:])
	if _, err := q.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, token); err != nil {
		return false, connErr("listen", err)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(wctx)
		if err == nil && n.Payload == token {
			return missed, nil
		}
		if err == nil {
			missed = missed || n.Payload == ""
			continue // an enqueue's, or another worker's probe
		}
		if ctx.Err() != nil || !pgconn.Timeout(err) {
			return false, connErr("listen", err)
		}
		// The LISTEN stays on whichever server connection ran it: undo
		// it where this statement lands (often the same one), so that
		// the pooler's connections do not collect listeners.
		uctx, ucancel := context.WithTimeout(ctx, closeTimeout)
		conn.Exec(uctx, `UNLISTEN *`)
		ucancel()
		return false, &Error{Op: "listen", Err: ErrNotifyPooled,
			Msg: fmt.Sprintf("the connection for notifications goes through a connection pooler, and the notification it sent itself did not arrive within %s: a pooler in transaction mode (PgBouncer's pool_mode=transaction) does not keep a LISTEN, so an enqueue does not wake this worker, which finds new messages only at its interval", wait),
			Fix: "give the workers a URL to PostgreSQL itself or to a pool in session mode (a PgBouncer database entry with pool_mode=session), or shorten the worker's interval"}
	}
}

// pooledListenRetry is how long Listen waits before it tries LISTEN again
// through a pooler that did not carry its probe (ErrNotifyPooled). Each
// try may leave a LISTEN behind on a server connection the pooler shares
// with other clients (in transaction pooling the UNLISTEN that follows
// goes to whichever server connection the pooler picks, and PgBouncer
// resets none unless server_reset_query_always is set), whose clients
// then receive the queue's notifications; every 15 to 30 s (the backoff's
// longest wait) left one of three server connections listening in a
// review's run. Passes still run at the worker's interval.
const pooledListenRetry = 10 * time.Minute

// ListenBackoff and ListenMaxBackoff bound Listen's waits between
// attempts to connect again.
const (
	ListenBackoff    = time.Second
	ListenMaxBackoff = 30 * time.Second
)

// listen is one LISTEN connection: listening is called once LISTEN is in
// place, wake for each notification; it returns why the connection ended.
func (q *Queue) listen(ctx context.Context, listening, wake func()) error {
	if q.listenTry != nil {
		q.listenTry()
	}
	cctx, cancel := q.bound(ctx)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, q.cfg.ConnConfig)
	if err != nil {
		return connErr("listen", err)
	}
	defer closeConn(ctx, conn)
	// Before LISTEN, so that LISTEN is the connection's last statement
	// while it waits (pg_stat_activity shows it).
	viaPooler, err := pooled(cctx, conn)
	if err != nil {
		return connErr("listen", err)
	}
	if _, err := conn.Exec(cctx, `LISTEN `+Channel); err != nil {
		return connErr("listen", err)
	}
	check := q.opts.ListenCheck
	missed := false // an enqueue's notification came during the probe
	if viaPooler {
		if missed, err = q.probeListen(cctx, conn, min(probeWait, check)); err != nil {
			return err
		}
	}
	listening()
	if missed {
		wake()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, check)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err == nil {
			if n.Payload == "" { // an enqueue's, not a probe's
				wake()
			}
			continue
		}
		if ctx.Err() != nil || !pgconn.Timeout(err) {
			return connErr("listen", err)
		}
		// Silent for check: a half-open connection (the peer gone
		// without a FIN or RST) looks the same, until a query gets no
		// answer. A timed-out wait leaves the connection usable, and a
		// notification that arrives during the ping is kept for the
		// next wait.
		pctx, cancel := context.WithTimeout(ctx, check/2)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && pgconn.Timeout(err) {
				err = fmt.Errorf("the idle connection did not answer a check within %s (the server or the network between may have gone without closing it): %w", check/2, err)
			}
			return connErr("listen", err)
		}
	}
}

var _ outbox.Store = (*Queue)(nil)
var _ outbox.Notifier = (*Queue)(nil)
