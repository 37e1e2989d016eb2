// Package outbox is tlsmail's durable spool: a message is on disk, with its
// envelope and connection settings, before any connection is made, and it
// leaves the spool only after the server accepted it (the final 250 reply to
// the end of DATA, RFC 5321 section 4.1.1.4) or when it fails for good.
//
// # Layout
//
// A spool directory holds four subdirectories:
//
//	tmp/      files being written (never read as items)
//	msg/      queued items: ID.msg (envelope, settings, content) and
//	          ID.state (attempts, last error, next attempt)
//	failed/   items that failed permanently or expired, with the reason
//	corrupt/  files that could not be read, moved aside
//
// Enqueue streams the content into tmp/, fsyncs it, renames it into msg/ and
// fsyncs the directory: after a crash at any moment an item is either
// absent or complete. An ID.msg file is never modified after the rename;
// the mutable state lives in ID.state, replaced atomically. A name in msg/
// is given to one file only, once (each item has a fresh ID, and nothing
// moves a file back into msg/), so a runner that holds an item's lock and
// still finds its name there knows it holds that item.
//
// # Settings
//
// An item's delivery settings are opaque to the outbox: a JSON object
// written by the layer above (tlsmail's submit.Account) and handed back
// as written by Item.Data, so that the outbox imports nothing above it.
// They must never hold a password or token, only where to read it again
// at delivery (an environment variable, a file, a command, a
// configuration account).
//
// # Trust
//
// An item's settings name a command that gives the password and a
// configuration file to read, so a runner acts only on files no one else
// could have written. On Unix the spool directory and its subdirectories
// must belong to the user running the queue and be writable by no one
// else (Run refuses to start otherwise: ErrUnsafeSpool), and every item
// and state file must be a regular file of that user, not writable by
// group or others, and not a symbolic link; any other is refused unread
// and moved to corrupt/. A spool shared by several users is not
// supported. On Windows, where the spool lives in the user's profile,
// links and non-regular files are refused; owners and ACLs are not
// checked.
//
// # Concurrency
//
// Any number of processes may enqueue and run at once. A runner holds an
// exclusive lock (flock on Unix, LockFileEx on Windows) on an item's file
// from the moment it reads the item for delivery until the result is
// recorded, and skips items another runner holds, so one message is never
// delivered twice at the same time. A delivered item is removed as soon as
// the server accepts it; the directory is fsynced at the end of the run.
// Delivery is at-least-once: a crash between the server's 250 and the
// removal of the file (or its flush to disk) sends the same message (same
// Message-ID) again.
package outbox

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultMaxAge is how long an item may wait before it expires.
const DefaultMaxAge = 5 * 24 * time.Hour

// Envelope is the SMTP envelope (RFC 5321 section 2.3.1).
type Envelope struct {
	// From is the reverse-path (MAIL FROM); empty for the null sender.
	From string `json:"from"`
	// To are the forward-paths (RCPT TO), at least one.
	To []string `json:"to"`
	// Body, SMTPUTF8 and HeaderUTF8 are what the content needs of MAIL
	// FROM, recorded when it was queued: Body is "7BIT" or "8BITMIME" (RFC
	// 6152); SMTPUTF8 (RFC 6531) is set for an envelope address with
	// UTF-8, which a server without SMTPUTF8 cannot take; HeaderUTF8 for
	// raw UTF-8 in the header only (RFC 6532), which is downgraded for
	// such a server (RFC 6857). An item of an earlier version may have
	// SMTPUTF8 set for either: with ASCII addresses it means HeaderUTF8.
	// Body "" means they were not recorded (an item of an earlier version,
	// or a content too large to scan before queueing): the deliverer
	// scans the content.
	Body       string `json:"body,omitempty"`
	SMTPUTF8   bool   `json:"smtputf8,omitempty"`
	HeaderUTF8 bool   `json:"header_utf8,omitempty"`
	// DSNNotify and DSNReturn are the delivery status notifications the
	// sender asked for (RFC 3461): each RCPT's NOTIFY= ("NEVER", or some
	// of SUCCESS, FAILURE, DELAY joined by commas) and MAIL's RET= ("FULL"
	// or "HDRS"); "" asks for none. A server without DSN then refuses the
	// item for good, as msmtp refuses to send.
	DSNNotify string `json:"dsn_notify,omitempty"`
	DSNReturn string `json:"dsn_return,omitempty"`
}

// Item is one queued (or failed) message.
type Item struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Envelope Envelope  `json:"envelope"`
	// Size is the message content's size in bytes.
	Size int64 `json:"size"`

	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	// NextAttempt is when Run will try again; zero means now.
	NextAttempt time.Time `json:"next_attempt,omitzero"`

	// EnvelopeError, if not "", says why the envelope could not be read (a
	// database row changed outside tlsmail, shown with what could be
	// read): Envelope is then empty, which is not the null sender of a
	// message without recipients.
	EnvelopeError string `json:"envelope_error,omitempty"`

	// For failed items: when and why.
	FailedAt  time.Time `json:"failed_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	Permanent bool      `json:"permanent,omitempty"`

	path string
	lay  layout
	// fid is the identity of the file read; data its content when the
	// first read covered the whole file (Run only).
	fid  fileID
	data []byte
	raw  string      // the settings as written (Data), the grouping key
	lf   *lockedFile // set while Run holds the item
	// unconfirmed: taken by the scan, checks under the lock still to be
	// made (runner.confirm); seq orders the items the scan took.
	unconfirmed bool
	seq         int
	// noState: Run found no state file for the item under its lock.
	noState bool
	// open opens the content of an item of another Store (NewItem).
	open func() (io.ReadCloser, error)
}

// Data returns the item's delivery settings as they were written: the
// JSON object given to EnqueueData (by tlsmail, a submit.Account), which a
// layer above decodes into its own type. The outbox never interprets it.
func (it *Item) Data() json.RawMessage { return json.RawMessage(it.raw) }

// Error is an outbox operation that failed.
type Error struct {
	// Op is "open", "enqueue", "run", "list", "get" or "remove".
	Op string
	// ID is the item involved, if any; Path the file.
	ID, Path string
	Msg      string
	Fix      string
	Err      error
}

func (e *Error) Error() string {
	s := "outbox " + e.Op
	if e.ID != "" {
		s += " " + e.ID
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is returned (wrapped) by Remove for an unknown ID.
var ErrNotFound = errors.New("no such item")

// ErrUnsafeSpool is returned (wrapped) by Run when the spool directory or
// one of its subdirectories could be written by another user (or is a
// link): its items name commands to run, so the run refuses to start.
var ErrUnsafeSpool = errors.New("the spool directory is not safe to run")

// ErrReadOnly is returned (wrapped) by Run when the spool's msg/
// directory cannot be written: delivered items could not be removed and
// would be sent again by every run, so nothing is delivered.
var ErrReadOnly = errors.New("the spool is read-only")

// ErrRemoveRefused is found (errors.Is) in the error of a Run whose store
// refused, for a reason trying again does not clear, to remove messages it
// had delivered: the PostgreSQL queue's database answered the deletion
// with a refusal (a role without the DELETE right, SQLSTATE 42501; a
// trigger raising an exception), not a lost connection. Those messages
// stay queued and are sent again when their lease ends, and every later
// run would send its messages and leave them queued too: a Worker stops
// on it (the store's rights or triggers must be fixed first).
var ErrRemoveRefused = errors.New("the outbox refuses to remove delivered messages")

// ErrClosed is found (errors.Is) in the error of an operation on a store
// after its Close (the PostgreSQL queue's pgqueue.ErrClosed): no retry
// heals it, so a Worker stops on it (a store is closed after what uses it
// has stopped).
var ErrClosed = errors.New("the outbox is closed")

// ErrBusy is returned (wrapped) by Remove when a runner is delivering the
// item right now.
var ErrBusy = errors.New("item is being delivered")

// ErrDamaged is found (errors.Is) in the error of an item whose stored copy
// cannot be read as it was written: a spool file damaged on disk (a
// *CorruptError that is not Unsafe), or a database row changed or lost
// outside tlsmail (a message of another length than was queued, an
// envelope that cannot be read). Trying again does not heal it: the
// message must be sent again from its source and the item removed.
var ErrDamaged = errors.New("the stored item is damaged")

// CorruptError is a spool file that cannot be read as an item. Run moves
// such files to corrupt/ with a warning. A file refused unread (Unsafe) is
// not damaged; any other is ErrDamaged.
type CorruptError struct {
	Path string
	Msg  string
	// Unsafe: the file was refused unread because this user cannot trust
	// it (a symbolic link, not a regular file, another user's file, or
	// one others may write): its settings could run a command.
	Unsafe bool
}

// Is reports ErrDamaged for a file read and found damaged (not Unsafe).
func (e *CorruptError) Is(target error) bool { return target == ErrDamaged && !e.Unsafe }

func (e *CorruptError) Error() string {
	if e.Unsafe {
		return "untrusted spool file " + e.Path + ": " + e.Msg
	}
	return "corrupt spool file " + e.Path + ": " + e.Msg
}

// Options configures a Queue.
type Options struct {
	// MaxAge is how long an item may stay queued: after a temporary failure
	// of an item older than this it moves to failed/. Zero means
	// DefaultMaxAge.
	MaxAge time.Duration
	// Backoff spaces out retries; the zero value means the defaults.
	Backoff Backoff
	// Logf receives warnings (corrupt files moved aside). Nil discards them.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxMessageSize is the largest content Enqueue stores, in bytes;
	// zero means DefaultMaxMessageSize and a negative value no limit.
	// Larger content is refused with ErrTooLarge and nothing is kept.
	MaxMessageSize int64
	// NoCreate opens the spool for reading only (a listing, or showing or
	// removing an item) without creating it: Open makes no directory, and
	// a spool that does not exist reads as empty (no item listed or
	// counted; Get and Remove say ErrNotFound), as a mail queue that was
	// never written is empty. Enqueue and Run need the directories: open
	// without NoCreate to write.
	NoCreate bool
}

// Queue is a spool directory. It is safe for concurrent use, and any number
// of processes may open the same directory.
type Queue struct {
	dir  string
	opts Options
	bufs sync.Pool // *[]byte copy buffers
	// lim bounds what a run holds and reads at once; its zero value is
	// the defaults, which is all Open sets.
	lim limits
}

// limits are the bounds of a run and the stages of an Enqueue, each zero
// meaning the default. Only the package's tests set them, to take with a
// few items the paths a large spool takes, or to act between two steps of
// an Enqueue or a run.
type limits struct {
	maxHeld   int64 // item files a run holds open at once (maxHeldFiles)
	scanChunk int   // directory entries read at a time (scanChunk)
	window    int   // items held in batches not yet full (partialWindow)
	noRelist  bool  // the scan checks each item by itself
	// hook is called at named stages: "synced-before", "synced" and
	// "renamed" of an Enqueue, "opened" when a run opens an item.
	hook func(stage string)
}

// chunk is how many directory entries a scan reads at a time.
func (l *limits) chunk() int {
	if l.scanChunk > 0 {
		return l.scanChunk
	}
	return scanChunk
}

// Open opens the spool at dir, creating it (mode 0700) when needed, unless
// opts.NoCreate.
func Open(dir string, opts Options) (*Queue, error) {
	if dir == "" {
		return nil, &Error{Op: "open", Msg: "no spool directory given", Fix: "give the spool directory"}
	}
	// With NoCreate nothing is made: a spool that does not exist reads as
	// empty (list.go).
	if !opts.NoCreate {
		for _, sub := range []string{"tmp", "msg", "failed", "corrupt"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				return nil, &Error{Op: "open", Path: dir, Msg: "cannot create the spool directory", Err: err,
					Fix: "check that the directory is writable by this user"}
			}
		}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	return &Queue{dir: dir, opts: opts}, nil
}

// Dir returns the spool directory.
func (q *Queue) Dir() string { return q.dir }

// Where is the subdirectory of the spool that holds the part p.
func (q *Queue) Where(p Part) string { return filepath.Join(q.dir, string(p)) }

func (q *Queue) now() time.Time {
	if q.opts.Now != nil {
		return q.opts.Now()
	}
	return time.Now()
}

func (q *Queue) logf(format string, args ...any) {
	if q.opts.Logf != nil {
		q.opts.Logf(format, args...)
	}
}

func (q *Queue) sub(parts ...string) string {
	return filepath.Join(append([]string{q.dir}, parts...)...)
}
