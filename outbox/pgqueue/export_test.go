package pgqueue

import (
	"context"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
)

// MigrateTo is migrateTo for the tests: a database of an earlier schema
// version, to migrate from.
var MigrateTo = migrateTo

// Recorder drives a Run's recorder without a deliverer: Begin a batch,
// Add its delivered items, End it, Close the recorder.
type Recorder struct{ r *recorder }

// NewRecorder is the recorder a Run makes, with the given linger.
func NewRecorder(q *Queue, linger time.Duration) Recorder {
	return Recorder{q.newRecorder(context.Background(), outbox.RunConfig{}, func(func(*outbox.Stats)) {}, nil, linger)}
}

// Batch is a batch registered with a Recorder.
type Batch struct{ b *recBatch }

func (r Recorder) Begin() Batch                 { return Batch{r.r.begin()} }
func (r Recorder) Add(b Batch, it *outbox.Item) { r.r.add(b.b, settled{it: it}) }
func (r Recorder) End(b Batch)                  { r.r.end(b.b) }
func (r Recorder) Close()                       { r.r.close() }

// SetOpTimeout shortens the bound on each database operation.
func SetOpTimeout(q *Queue, d time.Duration) { q.opTimeout = d }

// SetEnqueueTimeout shortens the bound on EnqueueData's database work.
func SetEnqueueTimeout(q *Queue, d time.Duration) { q.enqueueTimeout = d }

// SetBeforeCommit runs f before each EnqueueData's COMMIT is sent.
func SetBeforeCommit(q *Queue, f func()) { q.beforeCommit = f }

// SetBackendPID has each EnqueueData take f(pid) as its backend's process
// ID.
func SetBackendPID(q *Queue, f func(int64) int64) { q.backendPID = f }

// SetTxRef has each EnqueueData take f(pid, txid) as its transaction's
// backend and transaction ID (pid and txid of another client's
// transaction, in progress), keeping what it found out of the pooler.
func SetTxRef(q *Queue, f func() (pid, txid int64)) {
	q.txRef = func(x txRef) txRef { x.pid, x.txid = f(); return x }
}

// SetIdleTx shortens an enqueue's idle_in_transaction_session_timeout.
func SetIdleTx(q *Queue, d time.Duration) { q.idleTx = d }

// SetPooledRetry sets how long Listen waits after ErrNotifyPooled.
func SetPooledRetry(q *Queue, d time.Duration) { q.pooledRetry = d }

// SetListenTry has Listen call f at each LISTEN connection it opens.
func SetListenTry(q *Queue, f func()) { q.listenTry = f }
