package pgqueue_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// meteredStore is what a library user writes to count a queue's
// enqueues: the store behind the interface, one method overridden.
type meteredStore struct {
	outbox.Store
	enqueued atomic.Int64
}

func (m *meteredStore) EnqueueData(ctx context.Context, env outbox.Envelope, d outbox.Data, r io.Reader) (string, error) {
	m.enqueued.Add(1)
	return m.Store.EnqueueData(ctx, env, d, r)
}

// TestSharedQueueWrappedStillShared: a *pgqueue.Queue wrapped in a type of
// the program's own (embedding outbox.Store, as a program adding metrics
// does) is still a shared store to RunPass: a row written by SQL that
// takes its password from a command is deferred, and the command does not
// run. Before Shared was a method of outbox.Store, the wrapper lost the
// optional SharedStore marker, RunPass took the store for the runner's
// own, the row's command ran and the item was delivered with its output as
// the password.
func TestSharedQueueWrappedStillShared(t *testing.T) {
	dir := testdir.New(t)
	srv, seen, port := authServer(t, server.Config{Users: map[string]string{"alice": "s3cret"}})
	marker := filepath.Join(dir, "marker")
	url := newDB(t)
	q := &meteredStore{Store: openPG(t, url, pgqueue.Options{})}
	id := insertRow(t, url, map[string]any{"host": "127.0.0.1", "port": port, "tls": "starttls",
		"trust_file": srv.CAFile(), "server_name": "localhost", "auth": "on", "user": "alice",
		"secret": map[string]string{"source": "command", "ref": "touch " + marker + "; echo s3cret"}})
	var reports []submit.Report
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := submit.RunPass(ctx, q, submit.PassConfig{Connector: &submit.Connector{},
		OnReport: func(r submit.Report) { reports = append(reports, r) }}); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].ID != id {
		t.Fatalf("reports %+v; want one for %s", reports, id)
	}
	if r := reports[0]; r.Outcome != "deferred" || !strings.Contains(r.Error, "source command") {
		t.Errorf("%s; want it deferred for its command source", r)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the row's command ran (%s exists)", marker)
	}
	if s := seen.String(); s != "" {
		t.Errorf("the server was connected to:\n%s", s)
	}
}
