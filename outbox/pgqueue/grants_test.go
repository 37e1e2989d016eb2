package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresEnqueueOnlyRole: the grants docs/queue-postgres.md gives an
// application host ("Who can write the queue") are enough to enqueue
// (pgqueue.Open and EnqueueData) and to nothing else: the role cannot
// read the queued messages of other hosts, change or delete them, nor run
// the queue. (It can still INSERT any settings: the workers' ItemPolicy
// is what makes that harmless.)
func TestPostgresEnqueueOnlyRole(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	admin := dial(t, url)
	role := createRole(t, admin, "app",
		"SELECT ON tlsmail.schema_version",
		"INSERT ON tlsmail.message, tlsmail.outbox")
	if !strings.Contains(url, "tlsmail@") {
		t.Fatalf("unexpected test URL %s", url)
	}
	appURL := strings.Replace(url, "tlsmail@", role+"@", 1)
	q := openPG(t, appURL, pgqueue.Options{})
	if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{"host":"127.0.0.1","port":1}`)}, strings.NewReader(msg(1))); err != nil {
		t.Fatalf("enqueue with the application host's grants: %v", err)
	}
	app, err := pgx.Connect(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	for _, stmt := range []string{
		"SELECT count(*) FROM tlsmail.message",
		"SELECT count(*) FROM tlsmail.outbox",
		"UPDATE tlsmail.message SET settings = '{}'",
		"DELETE FROM tlsmail.outbox",
		"SELECT count(*) FROM tlsmail.failed",
	} {
		if _, err := app.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the application role: %v; want permission denied", stmt, err)
		}
	}
	if _, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()}); err == nil {
		t.Errorf("the application role ran the queue")
	}
	var n int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM tlsmail.outbox").Scan(&n); err != nil || n != 1 {
		t.Errorf("queued rows = %d, %v; want the one item, untouched", n, err)
	}
	// The workers' grants: everything on the queue's tables (a run
	// claims, deletes, moves to failed, queues again), no more.
	worker := createRole(t, admin, "worker",
		"SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA tlsmail")
	w := openPG(t, strings.Replace(url, "tlsmail@", worker+"@", 1), pgqueue.Options{})
	st, err := w.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Deferred != 1 {
		t.Errorf("run with the workers' grants = %+v, %v; want the item tried and deferred", st, err)
	}
}

// TestPostgresDeploymentWorkerGrants: the narrower worker grants of
// docs/deployment.md ("Database access": SELECT, UPDATE, DELETE on
// tlsmail.outbox, SELECT, DELETE on tlsmail.message, SELECT, INSERT on
// tlsmail.failed) are enough for a run: one pass delivers (deletes), fails
// for good (moves to failed) and defers (updates), and ListFailed reads the
// failed item.
func TestPostgresDeploymentWorkerGrants(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	admin := dial(t, url)
	worker := createRole(t, admin, "worker",
		"SELECT ON tlsmail.schema_version",
		"SELECT, UPDATE, DELETE ON tlsmail.outbox",
		"SELECT, DELETE ON tlsmail.message",
		"SELECT, INSERT ON tlsmail.failed")
	q := openPG(t, url, pgqueue.Options{})
	var ids []string
	for i := range 3 {
		id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{"host":"127.0.0.1","port":1}`)}, strings.NewReader(msg(i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	w := openPG(t, strings.Replace(url, "tlsmail@", worker+"@", 1), pgqueue.Options{})
	st, err := w.Run(ctx, outbox.RunConfig{Deliver: func(ctx context.Context, b []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range b {
			switch it.ID {
			case ids[0]:
				report(it, outbox.Result{Outcome: outbox.Delivered})
			case ids[1]:
				report(it, outbox.Result{Outcome: outbox.Permanent, Err: errors.New("550 no such user")})
			default:
				report(it, outbox.Result{Outcome: outbox.Temporary, Err: errors.New("451 try later")})
			}
		}
		return nil
	}})
	if err != nil || st.Delivered != 1 || st.Failed != 1 || st.Deferred != 1 {
		t.Fatalf("run with deployment.md's worker grants = %+v, %v; want 1 delivered, 1 failed, 1 deferred", st, err)
	}
	if failed, err := w.ListFailed(); err != nil || len(failed) != 1 || failed[0].ID != ids[1] {
		t.Fatalf("ListFailed with the worker's grants = %+v, %v", failed, err)
	}
}

// createRole creates a login role named prefix_N (N unique in the test
// process) with USAGE on schema tlsmail and each of the grants ("SELECT
// ON tlsmail.failed": the privileges and objects of a GRANT statement),
// and returns its name.
func createRole(t *testing.T, admin *pgx.Conn, prefix string, grants ...string) string {
	t.Helper()
	role := fmt.Sprintf("%s_%d", prefix, dbSeq.Add(1))
	stmts := []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA tlsmail TO " + role,
	}
	for _, g := range grants {
		stmts = append(stmts, "GRANT "+g+" TO "+role)
	}
	for _, stmt := range stmts {
		if _, err := admin.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return role
}
