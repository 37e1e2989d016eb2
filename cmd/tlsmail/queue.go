package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/anystore"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// Exit codes and JSON kinds of the queue commands.
const (
	kindQueue    = "queue"     // the spool cannot be read or written
	kindTooLarge = "too_large" // larger than the outbox's message size limit (69)
	kindDeferred = "deferred"  // queue run: some messages wait for a retry (75)
	kindFailed   = "failed"    // queue run: some messages failed for good (69)
)

// queueFlags are the flags every queue command shares: where the outbox is.
type queueFlags struct {
	dir           string
	url           string
	lease         time.Duration // queue run --lease (PostgreSQL)
	maxUnrecorded int           // queue run --max-unrecorded (PostgreSQL)
	config        string
	account       string
}

func (f *queueFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.dir, "queue-dir", "", "outbox `DIR` (default: $TLSMAIL_QUEUE_DIR, the config's queue_dir, $XDG_STATE_HOME/tlsmail/queue)")
	fs.StringVar(&f.url, "queue-url", "", "outbox on PostgreSQL: `URL` postgres://user@host/db?sslmode=verify-full, the password from ~/.pgpass or PGPASSWORD, never here (default: $TLSMAIL_QUEUE_URL, the config's queue_url)")
	fs.StringVar(&f.config, "config", "", "msmtp-format configuration `FILE` to read queue_dir from")
	fs.StringVar(&f.account, "account", "", "account `NAME` whose queue_dir to use (default: the default account)")
}

func homeDir(e *env) string { return config.Home(e.getenv) }

// configQueueDir is the queue_dir and queue_url of send and the queue
// commands' configuration account (submit.ConfigQueue: explicit, else the
// file config.Locate finds, read as every command reads it).
func configQueueDir(ctx context.Context, e *env, explicit, account string) (dir, qurl string, err error) {
	home := homeDir(e)
	return submit.ConfigQueue(ctx, config.Search{Explicit: explicit, Getenv: e.getenv, Home: home}, account, readOptions(home))
}

// queueError maps an outbox failure to exit 75 (the caller may try again)
// with the outbox's own fix; a message over the outbox's size limit is 69,
// an unsafe spool, a missing schema and a database that refuses to remove
// delivered messages 78 and a damaged item (outbox.ErrDamaged: a spool file
// or a database row that does not read as written) 70, as retrying
// changes nothing.
func queueError(err error) *exitError {
	xe := &exitError{code: exitTempFail, kind: kindQueue, msg: err.Error(), err: err,
		fix: "check the outbox directory's permissions and free space"}
	var oe *outbox.Error
	if errors.As(err, &oe) && oe.Fix != "" {
		xe.fix = oe.Fix
		// The fix is printed on its own line: not in the message too
		// (outbox.Error's text ends with it in parentheses).
		xe.msg = strings.TrimSuffix(xe.msg, " ("+oe.Fix+")")
	}
	if errors.Is(err, outbox.ErrTooLarge) {
		// Retrying changes nothing: 69 (EX_UNAVAILABLE), as Postfix's
		// sendmail exits for "message file too big".
		xe.code, xe.kind = exitUnavailable, kindTooLarge
		if oe != nil {
			xe.msg = "outbox: " + oe.Msg
		}
		xe.fix = "send a smaller message (share large files by link), or raise the limit with --max-size BYTES (sendmail: -O MaxMessageSize=BYTES)"
		if errors.Is(err, pgqueue.ErrTooLarge) { // a ceiling: --max-size cannot raise it
			xe.fix = "send it without --defer/--queue, or queue it in a spool directory (--queue-dir), which streams messages of any size"
		}
	}
	if errors.Is(err, pgqueue.ErrEnvelopeTooLarge) {
		xe.code, xe.kind = exitUnavailable, kindTooLarge // as for the message's size
	}
	if errors.Is(err, outbox.ErrDamaged) {
		xe.code = exitSoftware
	}
	if errors.Is(err, outbox.ErrUnsafeSpool) || errors.Is(err, pgqueue.ErrNoSchema) || errors.Is(err, pgqueue.ErrService) ||
		errors.Is(err, pgqueue.ErrPooler) ||
		errors.Is(err, outbox.ErrRemoveRefused) {
		// ErrRemoveRefused: the database refuses to delete what a run
		// delivered (no DELETE right, a trigger); running again, by
		// hand, from cron or from a supervisor, sends it all again.
		// Not a passing condition: retrying changes nothing.
		xe.code = exitConfig
	}
	if errors.Is(err, pgqueue.ErrNoSchema) && !errors.Is(err, pgqueue.ErrNewerSchema) {
		// pgqueue's fix names its Go function; on the command line the
		// schema is made by a command.
		xe.fix = "create or migrate the queue schema with 'tlsmail queue init'"
	}
	return xe
}

// queued is what a queued send did: the item's ID and directory, and the
// outcome of the immediate delivery (Outcome 0 when there was none: --defer,
// or another runner holds the item).
type queued struct {
	id, dir string
	res     outbox.Result
	out     *submit.Sent
	next    time.Time
	// deferred: only written to the outbox (--defer), no delivery tried.
	deferred bool
	// runErr: the immediate delivery did not start (an unsafe or
	// read-only spool), or its outcome could not be recorded (a failure
	// not moved to the failed items: the item stays queued).
	runErr error
	// env is the envelope queued (for msmtp's log line).
	env outbox.Envelope
	// store is the outbox the item was queued in, for messages
	// (outbox.Store.Where, outbox.Locate); nil when direct.
	store outbox.Store
	// direct: no outbox could be created and the message was sent at
	// once, unqueued (res and out say how that went; id is "").
	direct bool
	// directWhy is why there was no outbox (direct), for the log line.
	directWhy string
	// backlog delivers the outbox's earlier items of the same account
	// (sendmail, after a delivery); nil when there was no run.
	backlog func(ctx context.Context) outbox.Stats
}

// queuedSend checks and prepares the message as send does, writes it to
// the outbox (file and directory fsynced) before any connection, and then,
// unless o.deferOnly, delivers that one item at once. Errors are usage,
// configuration and spool failures: the message was not queued.
func queuedSend(ctx context.Context, e *env, o *sendOptions) (*queued, error) {
	p, err := planMessage(ctx, e, o)
	if p != nil && p.closeFn != nil {
		defer p.closeFn()
	}
	if err != nil {
		return nil, err
	}
	acct, err := accountFor(o, p)
	if err != nil {
		return nil, err
	}
	cfgDir, cfgURL := o.cfg.queueDir, o.cfg.queueURL
	if o.cfg.file == "" {
		cfgDir, cfgURL, _ = configQueueDir(ctx, e, "", "")
	}
	loc, err := resolveQueue(e, o.queueDir, o.queueURL, cfgDir, cfgURL)
	if err != nil {
		return nil, err
	}
	q, err := openStore(ctx, e, loc, anystore.Options{MaxSize: o.maxSize})
	if err != nil {
		var pe *fs.PathError
		if o.directIfNoOutbox && !o.deferOnly && loc.URL == "" && errors.As(err, &pe) && pe.Op == "mkdir" {
			return sendUnqueued(ctx, e, o, p, err)
		}
		return nil, err
	}
	dir := q.Dir()
	if p.acct.Trust.Insecure {
		fmt.Fprintln(e.stderr, "tlsmail: WARNING: the server's certificate is NOT required to verify (--insecure or tls_certcheck off).")
	}
	r := p.msg.Reader()
	// A composed message, or a --message file scanned whole: its needs
	// are known. Standard input is scanned by submit.Enqueue.
	qenv := submit.QueueEnvelope(p.env)
	if o.message == "-" {
		qenv.Body, qenv.SMTPUTF8, qenv.HeaderUTF8 = "", false, false
	}
	id, err := submit.Enqueue(ctx, q, &acct, qenv, r)
	r.Close()
	if err != nil {
		var sub *submit.Error
		if id == "" && errors.As(err, &sub) {
			// The account or envelope submit refuses to queue: the
			// user's configuration (its own fix), not the outbox's.
			return nil, err
		}
		if id == "" {
			return nil, queueError(err)
		}
		// On disk, but the directory flush failed: say so, go on.
		fmt.Fprintf(e.stderr, "tlsmail: warning: %v\n", err)
	}
	res := &queued{id: id, dir: dir, deferred: o.deferOnly, env: outbox.Envelope{From: p.env.From, To: p.env.To}, store: q}
	if o.deferOnly {
		return res, nil
	}
	tw, closeTranscript := transcriptOrWarn(e, o.transcript)
	defer closeTranscript()
	c := o.connector(e)
	if q.Shared() {
		// Others write this queue too: the item delivered now, and the
		// backlog of equal settings after it, are trusted as this
		// command's own only while their settings are what it queued.
		own := acct.Stored()
		c.Policy = submit.ItemPolicy{Shared: true, Own: []string{own.Key()}}
	}
	d := &submit.Deliverer{Connect: c.Plan, Transcript: tw}
	d.Requeue = q // recipients deferred with 4xx while others took the message
	now, err := d.DeliverNow(ctx, q, id)
	res.res, res.next, res.runErr = now.Result, now.Next, err
	if s := now.Sent; s != nil {
		res.out = s
	}
	res.backlog = func(ctx context.Context) outbox.Stats {
		return d.DeliverBacklog(ctx, q, now, submit.Backlog{Items: backlogItems, Time: backlogTime,
			OnResult: func(it *outbox.Item, res outbox.Result, s *submit.Sent) { queuedLog(e, c, it, res, s) }})
	}
	return res, nil
}

// sendQueued runs `send --queue` and `send --defer`.
func sendQueued(ctx context.Context, e *env, o *sendOptions) error {
	qr, err := queuedSend(ctx, e, o)
	sendLog(e, o, qr, nil, smtp.Envelope{}, err)
	if err == nil {
		err = qr.err()
	}
	var out *submit.Sent
	if qr != nil {
		out = qr.out
	}
	if o.json {
		j := queuedJSON{jsonOutput: jsonOutputOf(out, err)}
		if qr != nil {
			j.QueueID, j.QueueDir, j.Queued = qr.id, qr.dir, qr.res.Outcome != outbox.Delivered && qr.res.Outcome != outbox.Permanent && qr.res.Outcome != outbox.Corrupt
			j.Failed = qr.res.Outcome == outbox.Permanent
		}
		writeJSON(e.stdout, j)
		if err != nil {
			return &reported{err}
		}
		return nil
	}
	if qr != nil && qr.res.Outcome == outbox.Delivered {
		printOutcome(e.stdout, e.stderr, out)
	}
	if qr != nil && o.deferOnly {
		fmt.Fprintf(e.stdout, "queued:   %s in %s\n", qr.id, qr.dir)
	}
	return err
}

// queuedJSON is `send --queue/--defer --json`: send's object plus the
// outbox item.
type queuedJSON struct {
	jsonOutput
	QueueID  string `json:"queue_id,omitempty"`
	QueueDir string `json:"queue_dir,omitempty"`
	// Queued is true when the message is in the outbox, waiting; Failed
	// when it was moved to failed/.
	Queued bool `json:"queued"`
	Failed bool `json:"failed"`
}

// err is the error a queued send reports: nil when delivered (or only
// deferred by request); exit 75 when the message waits in the outbox; the
// failure's own code when it failed for good (the item is in failed/, or
// still queued when the outbox could not move it: runErr).
func (qr *queued) err() error {
	switch qr.res.Outcome {
	case outbox.Delivered:
		return nil
	case outbox.Permanent:
		c := classify(qr.res.Err)
		where := fmt.Sprintf("the message was moved to %s", outbox.Locate(qr.store, outbox.PartFailed, qr.id))
		if qr.runErr != nil && !errors.Is(qr.runErr, context.Canceled) {
			// The outbox could not record the failure: the item is
			// still queued, and tried again after its lease.
			where = fmt.Sprintf("the message could not be moved to the failed items and stays queued as %s: %s",
				qr.id, safetext.OneLine(qr.runErr.Error()))
		}
		return &exitError{code: c.code, kind: c.kind, err: qr.res.Err,
			msg: fmt.Sprintf("%s (%s)", c.message, where), fix: c.fix}
	case outbox.Corrupt:
		return &exitError{code: exitSoftware, kind: kindQueue, err: qr.res.Err,
			msg: fmt.Sprintf("not sent: the queued copy was damaged on disk and moved to %s (%v)", qr.store.Where(outbox.PartCorrupt), qr.res.Err),
			fix: "send the message again, and check the disk that holds the outbox"}
	case outbox.Temporary:
		c := classify(qr.res.Err)
		fix := fmt.Sprintf("the message is safe in the outbox as %s; 'tlsmail queue run' retries it%s", qr.id, nextText(qr.next))
		if !submit.Heals(qr.res.Err) {
			// Kept for a fix of the account or the server (a refused
			// login, a malformed token, an untrusted certificate):
			// retrying alone never delivers it, so say what to fix.
			if c.fix != "" {
				fix = c.fix + "; then "
			} else {
				fix = "fix the cause; then "
			}
			fix += fmt.Sprintf("'tlsmail queue flush' delivers it (it is safe in the outbox as %s, and will not heal by itself)", qr.id)
		}
		return &exitError{code: exitTempFail, kind: c.kind, err: qr.res.Err,
			msg: fmt.Sprintf("not delivered yet: %s", c.message), fix: fix}
	}
	if qr.deferred {
		return nil
	}
	if qr.runErr != nil && !errors.Is(qr.runErr, context.Canceled) {
		xe := queueError(qr.runErr)
		xe.msg = fmt.Sprintf("queued as %s but not delivered: %s", qr.id, xe.msg)
		return xe
	}
	// No outcome: the delivery did not finish (SIGINT or SIGTERM cancelled
	// it). The message is queued all the same; saying "sent" or nothing
	// would make a caller send it again.
	return &exitError{code: exitTempFail, kind: "network", err: context.Canceled,
		msg: "not delivered yet: the delivery was interrupted",
		fix: fmt.Sprintf("the message is safe in the outbox as %s; 'tlsmail queue run' delivers it", qr.id)}
}

func nextText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " from " + t.Local().Format("2006-01-02 15:04:05")
}

func newQueueCommand(e *env, st *runState) *cobra.Command {
	qf := &queueFlags{}
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List, deliver and remove the messages in the outbox",
		Long: `The outbox holds messages written by 'tlsmail sendmail', 'send --queue' and
'send --defer' until the server accepted them (250 after DATA). Each item
keeps its envelope, the message and the connection settings; the password is
never stored, it is read again at delivery from the same source (environment
variable, file, command or configuration account).

Where the outbox is ($XDG_STATE_HOME is ~/.local/state when unset):
@flags queue-dir queue-url

Items name the command that gives their password, so the outbox must be
the private directory of the user who runs the queue: 'queue run' refuses
a directory another user owns or may write to (exit 78), and moves aside
unread any item file that is a link, another user's, or writable by
others.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			return cmd.Help()
		},
	}
	qf.register(cmd)
	cmd.Long = helpFlags(cmd.Long, cmd.PersistentFlags())
	cmd.AddCommand(newQueueListCommand(e, st, qf), newQueueRunCommand(e, st, qf, false),
		newQueueRunCommand(e, st, qf, true), newQueueRemoveCommand(e, st, qf), newQueueInitCommand(e, st, qf),
		newQueueShowCommand(e, st, qf))
	return cmd
}

// resolve finds the outbox from the flags, the environment and the
// configuration (resolveQueue).
func (f *queueFlags) resolve(ctx context.Context, e *env) (anystore.Location, error) {
	cfgDir, cfgURL := "", ""
	if f.dir == "" && f.url == "" && anystore.Env(e.getenv).IsZero() {
		var err error
		if cfgDir, cfgURL, err = configQueueDir(ctx, e, f.config, f.account); err != nil {
			return anystore.Location{}, err
		}
	}
	return resolveQueue(e, f.dir, f.url, cfgDir, cfgURL)
}

// open resolves the outbox from the flags and opens it, creating a spool
// directory that does not exist (queue run and flush).
func (f *queueFlags) open(ctx context.Context, e *env) (outbox.Store, error) {
	return f.openWith(ctx, e, false)
}

// openRead is open for the commands that only read the outbox or remove
// items (queue list, show, remove): a spool directory that does not exist
// is not created (a mistyped --queue-dir, the default directory on a
// machine that never queued) and reads as an empty outbox.
func (f *queueFlags) openRead(ctx context.Context, e *env) (outbox.Store, error) {
	return f.openWith(ctx, e, true)
}

func (f *queueFlags) openWith(ctx context.Context, e *env, noCreate bool) (outbox.Store, error) {
	loc, err := f.resolve(ctx, e)
	if err != nil {
		return nil, err
	}
	if f.lease < 0 || (f.lease > 0 && f.lease < 3*time.Second) {
		return nil, usageErrorf("--lease must be at least 3s").withFix("e.g. --lease 1m")
	}
	if f.lease > pgqueue.MaxLease {
		return nil, usageErrorf("--lease must be at most %s (a longer lease only delays the return of a dead worker's messages)", pgqueue.MaxLease).withFix("e.g. --lease 5m")
	}
	// f.maxUnrecorded is 0 (the default) or 1 to maxUnrecordedFlag: queue
	// run checks the flag where it is parsed.
	return openStore(ctx, e, loc, anystore.Options{Lease: f.lease, MaxUnrecorded: f.maxUnrecorded, NoCreate: noCreate})
}

// listOptions are the flags of `queue list`.
type listOptions struct {
	json, failed, count bool
	// limit, if positive, is the most items shown of each list.
	limit int
}

func newQueueListCommand(e *env, st *runState, qf *queueFlags) *cobra.Command {
	var lo listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show the queued messages: ID, recipients, size, attempts, next attempt, last error",
		Long: `Show the queued messages: ID, recipients, size, attempts, next attempt, last error.

The listing is streamed: a queue of any size is listed in bounded memory,
in the order the directory gives, oldest first within each run of 4,096
entries (a smaller queue is listed oldest first). --count prints only how
many messages there are; --limit N shows at most N of each list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = lo.json
			if lo.limit < 0 {
				return usageErrorf("--limit must be 0 (no limit) or more").withFix("e.g. --limit 100")
			}
			q, err := qf.openRead(cmd.Context(), e)
			if err != nil {
				return err
			}
			return queueList(e, q, lo)
		},
	}
	cmd.Flags().BoolVar(&lo.json, "json", false, `print one JSON object: {"dir", "queued": [...], "failed": [...]} (with --count: numbers)`)
	cmd.Flags().BoolVar(&lo.failed, "failed", false, "also list the messages in failed/, with the reason")
	cmd.Flags().BoolVar(&lo.count, "count", false, "print only how many messages are queued and failed (reads no message file)")
	cmd.Flags().IntVar(&lo.limit, "limit", 0, "show at most `N` messages of each list (0: all)")
	return cmd
}

// queueList is `queue list` with the given flags (and sendmail -bp).
func queueList(e *env, q outbox.Store, lo listOptions) error {
	if lo.count {
		queued, err := q.Count()
		if err != nil {
			return queueError(err)
		}
		failed, err := q.CountFailed()
		if err != nil {
			return queueError(err)
		}
		if lo.json {
			writeJSON(e.stdout, struct {
				OK     bool   `json:"ok"`
				Dir    string `json:"dir"`
				Queued int    `json:"queued"`
				Failed int    `json:"failed"`
			}{true, q.Dir(), queued, failed})
			return nil
		}
		fmt.Fprintf(e.stdout, "%d queued, %d failed in %s\n", queued, failed, q.Dir())
		return nil
	}
	if lo.json {
		if err := submit.WriteListJSON(e.stdout, q, lo.limit); err != nil {
			return queueError(err)
		}
		return nil
	}
	shown, err := submit.WriteQueued(e.stdout, q, lo.limit)
	if err != nil {
		return queueError(err)
	}
	if lo.limit > 0 && shown == lo.limit {
		if n, err := q.Count(); err == nil && n > shown {
			fmt.Fprintf(e.stdout, "(%d of %d queued messages shown: --limit)\n", shown, n)
		}
	}
	if lo.failed {
		if _, err := submit.WriteFailed(e.stdout, q, lo.limit); err != nil {
			return queueError(err)
		}
	} else if n, err := q.CountFailed(); err != nil {
		return queueError(err)
	} else if n > 0 {
		fmt.Fprintf(e.stdout, "%d message(s) failed for good: see 'tlsmail queue list --failed'.\n", n)
	}
	return nil
}

func newQueueRunCommand(e *env, st *runState, qf *queueFlags, flush bool) *cobra.Command {
	var (
		asJSON     bool
		parallel   int
		watch      bool
		interval   time.Duration
		transcript string
		secrets    string
	)
	use, short := "run", "Deliver the messages that are due, one connection per server"
	if flush {
		use, short = "flush", "Try to deliver every queued message now, whatever its next attempt time"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

Messages are grouped by their connection settings; each group goes over one
connection (RSET between messages), up to --parallel connections at once. A
group of many messages for one server is spread over several connections
(each carrying at least 16 messages), up to --parallel of them. A
message another runner is delivering is skipped, so concurrent runs never
send it twice at the same time. A corrupt spool file is moved to corrupt/
with a warning.

Exit codes: 0 every due message was delivered (or none was due); 75 some
were deferred (they stay queued, with the error and the next attempt time);
69 some failed for good (moved to failed/); 78 the outbox cannot be used as
configured, such as a queue database that refuses to delete delivered
messages (a worker role without DELETE): --watch then stops rather than
send them again at every pass.

With --queue-url the queue is shared: whoever can write its tables chooses an
item's settings. An item's password then comes only from this runner's own
configuration (source config: its configuration account, only while the
item's server, TLS mode and trust are the account's; or netrc); an item
naming an environment variable, a file or a command is deferred, unread,
unless --queue-secrets lists that source. See docs/queue-postgres.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			st.json = asJSON
			if parallel < 1 {
				return usageErrorf("--parallel must be at least 1").withFix("e.g. --parallel 4")
			}
			allow, err := submit.ParseSecretSources(secrets)
			if err != nil {
				return usageErrorf("--queue-secrets: %v", err).withFix("e.g. --queue-secrets env,command")
			}
			// The flag's 0 is "not given" (the default); given, 0 is out
			// of range as -1 is, not the default in disguise. Checked
			// here, before the queue is looked for, as --parallel is.
			unrecorded := cmd.Flags().Changed("max-unrecorded")
			if unrecorded && (qf.maxUnrecorded < 1 || qf.maxUnrecorded > maxUnrecordedFlag) {
				return usageErrorf("--max-unrecorded %d: it must be 1 to %d (a batch's size: a connection waits for the database at the end of each batch anyway)", qf.maxUnrecorded, maxUnrecordedFlag).
					withFix(fmt.Sprintf("e.g. --max-unrecorded 64, or leave it out for the default, %d", pgqueue.DefaultMaxUnrecorded))
			}
			q, err := qf.open(cmd.Context(), e)
			if err != nil {
				return err
			}
			if len(allow) > 0 && !q.Shared() {
				return usageErrorf("--queue-secrets applies to a shared queue (--queue-url) only: the items of the queue directory %s are its user's own and read as they are", q.Dir()).
					withFix("drop --queue-secrets, or give the queue's --queue-url")
			}
			if qf.lease > 0 && !q.Shared() {
				return usageErrorf("--lease applies to a shared queue (--queue-url) only: the queue directory %s is locked per item for as long as its runner lives", q.Dir()).
					withFix("drop --lease, or give the queue's --queue-url")
			}
			if unrecorded && !q.Shared() {
				return usageErrorf("--max-unrecorded applies to a shared queue (--queue-url) only: the queue directory %s removes each message as soon as the server accepted it", q.Dir()).
					withFix("drop --max-unrecorded, or give the queue's --queue-url")
			}
			tw, closeTranscript, err := openTranscript(e, transcript)
			if err != nil {
				return err
			}
			defer closeTranscript()
			r := &queueRunner{e: e, q: q, json: asJSON, parallel: parallel, force: flush, transcript: tw, secrets: allow}
			if watch {
				return r.watch(cmd.Context(), interval)
			}
			return r.once(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&asJSON, "json", false, `print one JSON object per pass: {"ok", "stats", "results": [...]}`)
	fs.IntVar(&parallel, "parallel", 4, "deliver over at most `N` connections at once (to one server or several)")
	fs.StringVar(&transcript, "transcript", "", "write the session logs to `FILE` (- for standard error)")
	fs.StringVar(&secrets, "queue-secrets", "", "with --queue-url: also take an item's password from these `SOURCES` (env,file,command) although any host that can write the queue chose them (default: none; config and netrc only)")
	fs.DurationVar(&qf.lease, "lease", 0, "with --queue-url: how long a claim on a batch lasts without renewal, so how soon a dead worker's messages come back (default 5m)")
	fs.IntVar(&qf.maxUnrecorded, "max-unrecorded", 0, fmt.Sprintf("with --queue-url: how many accepted messages a connection may send on before their removal is committed (default %d, at most %d); a killed worker sends again at most --parallel × (`N`+1): raise it when the database is many milliseconds away (see docs/queue-postgres.md)", pgqueue.DefaultMaxUnrecorded, maxUnrecordedFlag))
	if !flush {
		fs.BoolVar(&watch, "watch", false, "keep running: deliver, sleep until the next message is due (at most --interval), repeat until interrupted")
		fs.DurationVar(&interval, "interval", 30*time.Second, "with --watch, look for new messages at least this often (1s to 1h)")
	}
	return cmd
}

// maxUnrecordedFlag is the largest --max-unrecorded: a batch's size (250
// messages), at whose end a connection waits for its removals anyway.
const maxUnrecordedFlag = 250

type queueRunner struct {
	e          *env
	q          outbox.Store
	json       bool
	parallel   int
	force      bool
	transcript io.Writer
	// secrets are the secret sources a shared queue's items may name
	// (--queue-secrets; submit.ItemPolicy.Secrets).
	secrets []submit.SecretSource
	// refused are the secret sources items of the last pass were
	// refused for (the deferral's fix names --queue-secrets).
	refusedMu sync.Mutex
	refused   []submit.SecretSource
}

// noteRefused records the secret source err refused an item for, if any.
func (r *queueRunner) noteRefused(err error) {
	var se *submit.Error
	if !errors.As(err, &se) || se.Field != "queued_settings" {
		return
	}
	switch se.Source {
	case submit.SecretEnv, submit.SecretFile, submit.SecretCommand:
		r.refusedMu.Lock()
		if !slices.Contains(r.refused, se.Source) {
			r.refused = append(r.refused, se.Source)
		}
		r.refusedMu.Unlock()
	}
}

// lineBuffer gathers the per-message lines of a queue run into few writes:
// a write per message costs a system call and, when standard output is a
// pipe, a wake-up of the reader. A line waits at most flushDelay, so a
// person watching a slow run still sees each message go.
type lineBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer
	err   error
}

const (
	flushDelay = 200 * time.Millisecond
	flushSize  = 32 << 10
)

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= flushSize {
		b.flushLocked()
	} else if b.timer == nil {
		b.timer = time.AfterFunc(flushDelay, func() { b.Flush() })
	}
	return len(p), nil
}

// Flush writes what is buffered and reports the first write error.
func (b *lineBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

func (b *lineBuffer) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) > 0 && b.err == nil {
		_, b.err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
}

// connector is the runner's: the sources --queue-secrets opts in to (a
// shared store's items are checked by submit.RunPass).
func (r *queueRunner) connector() *submit.Connector {
	c := r.e.connector()
	c.Policy.Secrets = r.secrets
	if r.q.Shared() {
		c.Policy.Shared = true // RunPass would too; the log lines need it as well
	}
	return c
}

// pass runs the queue once and prints what happened.
func (r *queueRunner) pass(ctx context.Context) (outbox.Stats, error) {
	out := &lineBuffer{w: r.e.stdout}
	defer out.Flush()
	// With --json the object is streamed: {"dir", "results": [...],
	// "stats", "ok"}, each result written as it comes.
	results := 0
	startJSON := func() {
		dir, _ := json.Marshal(r.q.Dir())
		fmt.Fprintf(out, "{\n  \"dir\": %s,\n  \"results\": [", dir)
	}
	c := r.connector()
	stats, err := submit.RunPass(ctx, r.q, submit.PassConfig{
		Connector:  c,
		Parallel:   r.parallel,
		Force:      r.force,
		Transcript: r.transcript,
		OnResult:   func(_ *outbox.Item, res outbox.Result, _ *submit.Sent) { r.noteRefused(res.Err) },
		Log:        true,
		OnLogError: func(err error) { logWarning(r.e, err) },
		OnReport: func(rr submit.Report) { // one at a time
			if r.json {
				if results == 0 {
					startJSON()
				} else {
					out.Write([]byte(","))
				}
				results++
				out.Write([]byte("\n    "))
				out.Write(indentedJSON(rr, "    "))
			} else {
				// Printed and forgotten: a run's memory does not grow
				// with the backlog.
				fmt.Fprintln(out, rr)
			}
		},
	})
	if err != nil && ctx.Err() == nil && (!r.json || results == 0) {
		return stats, queueError(err)
	}
	if r.json {
		if results == 0 {
			startJSON()
		} else {
			out.Write([]byte("\n  "))
		}
		fmt.Fprintf(out, "],\n  \"stats\": %s,\n  \"ok\": %v", indentedJSON(stats, "  "), stats.Failed == 0 && stats.Deferred == 0 && stats.Stuck == 0 && err == nil)
		if err != nil && ctx.Err() == nil {
			// The run failed after results were written: the object is
			// closed with the error, which counts as reported.
			xe := queueError(err)
			fmt.Fprintf(out, ",\n  \"error\": {\"message\": %s}\n}\n", indentedJSON(xe.Error(), ""))
			return stats, &reported{xe}
		}
		out.Write([]byte("\n}\n"))
	} else {
		out.Flush()
		fmt.Fprintln(r.e.stdout, stats.Summary(r.q.Where))
	}
	return stats, nil
}

// indentedJSON encodes v as writeJSON does, for a value nested at
// prefix, without the final newline.
func indentedJSON(v any, prefix string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// once is `queue run` and `queue flush`: one pass, and the exit code says
// how it went.
func (r *queueRunner) once(ctx context.Context) error {
	stats, err := r.pass(ctx)
	if err != nil {
		return err
	}
	var xe *exitError
	switch {
	case stats.Failed > 0:
		xe = &exitError{code: exitUnavailable, kind: kindFailed,
			msg: fmt.Sprintf("%d message(s) failed for good and were moved to %s", stats.Failed, r.q.Where(outbox.PartFailed)),
			fix: "see 'tlsmail queue list --failed' for the reasons"}
	case stats.Stuck > 0:
		xe = &exitError{code: exitTempFail, kind: kindQueue,
			msg: fmt.Sprintf("%d message(s) were not sent: they could not be removed from %s once delivered, so every run would send them again", stats.Stuck, r.q.Where(outbox.PartQueued)),
			fix: "make the files and the directory writable (remove an immutable flag: chattr -i), then run the queue again"}
	case stats.Deferred > 0:
		xe = &exitError{code: exitTempFail, kind: kindDeferred,
			msg: fmt.Sprintf("%d message(s) could not be delivered yet and stay queued", stats.Deferred),
			fix: "they are retried by the next 'tlsmail queue run'; 'tlsmail queue list' shows the errors"}
		if len(r.refused) > 0 {
			srcs := make([]string, len(r.refused))
			for i, s := range r.refused {
				srcs[i] = string(s)
			}
			slices.Sort(srcs)
			xe.fix += "; items of this shared queue name a password source (" + strings.Join(srcs, ", ") +
				") that any host writing the queue could have chosen: queue them through a configuration account, or pass --queue-secrets " +
				strings.Join(srcs, ",") + " if every such host is trusted (see docs/queue-postgres.md)"
		}
	}
	if xe == nil {
		return nil
	}
	if r.json {
		return &reported{xe}
	}
	return xe
}

// watch is `queue run --watch`: a submit.Worker whose passes print their
// results, until ctx is done. It sleeps until the next item is due but
// never longer than interval (so that new messages are found).
func (r *queueRunner) watch(ctx context.Context, interval time.Duration) error {
	w := &submit.Worker{Queue: r.q, Interval: max(interval, submit.MinInterval), Pass: r.pass,
		OnError: func(err error) { fmt.Fprintf(r.e.stderr, "tlsmail: %v\n", err) }}
	err := w.Run(ctx)
	var xe *exitError
	if errors.Is(err, outbox.ErrRemoveRefused) && errors.As(err, &xe) {
		// The Worker stopped rather than send the same messages again
		// every pass.
		xe.fix += "; then start the worker again"
	}
	return err
}

func newQueueRemoveCommand(e *env, st *runState, qf *queueFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID...",
		Short: "Delete queued or failed messages by ID (as 'queue list' shows them)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			q, err := qf.openRead(cmd.Context(), e)
			if err != nil {
				return err
			}
			// Every ID is tried (as postsuper -d does), an ID given twice
			// once; the first failure is the command's, and with several
			// each is on standard error in the arguments' order.
			var fails []*exitError
			seen := map[string]bool{}
			for _, id := range args {
				if seen[id] {
					continue
				}
				seen[id] = true
				var ferr *exitError
				err := q.Remove(id)
				switch {
				case err == nil:
					fmt.Fprintf(e.stdout, "removed %s\n", safetext.OneLine(id))
					continue
				case errors.Is(err, outbox.ErrNotFound):
					// As queue show: 66, the input named does not exist.
					ferr = &exitError{code: exitNoInput, kind: kindNotFound, err: err,
						msg: fmt.Sprintf("%s is not in the outbox %s (neither queued nor failed)", safetext.OneLine(id), q.Dir()),
						fix: "see 'tlsmail queue list --failed' for the IDs (a delivered message has left the outbox)"}
				case errors.Is(err, outbox.ErrBusy):
					ferr = &exitError{code: exitTempFail, kind: kindQueue, err: err,
						msg: fmt.Sprintf("%s is being delivered right now", safetext.OneLine(id)), fix: "try again in a moment"}
				default:
					ferr = queueError(err)
				}
				fails = append(fails, ferr)
			}
			if len(fails) <= 1 {
				if len(fails) == 0 {
					return nil
				}
				return fails[0]
			}
			for _, f := range fails {
				fmt.Fprintf(e.stderr, "tlsmail: %v\n", f)
			}
			first := *fails[0]
			first.msg = fmt.Sprintf("%d of the IDs given were not removed (each above); the first: %s", len(fails), fails[0].Error())
			return &first
		},
	}
}

// sendUnqueued sends the prepared message at once without the outbox,
// which could not be created (why): a user such as PHP-FPM's www-data,
// whose HOME is not writable, still gets the mail out. It says so on
// standard error: if this attempt fails nothing is kept, as with msmtp.
func sendUnqueued(ctx context.Context, e *env, o *sendOptions, p *sendPlan, why error) (*queued, error) {
	fmt.Fprintf(e.stderr, "tlsmail: warning: no outbox (%s); sending directly, and nothing is kept if this fails (set TLSMAIL_QUEUE_DIR or queue_dir to a directory this user can write)\n",
		safetext.OneLine(why.Error()))
	res := &queued{direct: true, directWhy: safetext.OneLine(why.Error()), env: outbox.Envelope{From: p.env.From, To: p.env.To}, out: &submit.Sent{}}
	if err := p.authenticate(ctx, e, o); err != nil {
		res.res = outbox.Result{Outcome: outbox.Permanent, Err: err}
		return res, nil
	}
	tw, closeTranscript := transcriptOrWarn(e, o.transcript)
	defer closeTranscript()
	err := connectAndSend(ctx, e, o, p, tw, res.out)
	if sres := res.out.Result; err == nil && sres != nil && len(sres.Rejected) > 0 {
		err = &submit.RecipientsError{Delivered: sres.Accepted, Refused: sres.Rejected}
	}
	res.res = outbox.Result{Outcome: outbox.Delivered}
	if err != nil {
		// Nothing is kept: every failure is final here.
		res.res = outbox.Result{Outcome: outbox.Permanent, Err: err}
	}
	return res, nil
}

// transcriptOrWarn opens --transcript for a message that is queued, or
// is sent with nothing kept: a transcript that cannot be written is no
// reason to leave it undelivered, so the failure is a warning.
func transcriptOrWarn(e *env, path string) (io.Writer, func()) {
	tw, done, err := openTranscript(e, path)
	if err != nil {
		fmt.Fprintf(e.stderr, "tlsmail: warning: %v\n", err)
	}
	return tw, done
}
