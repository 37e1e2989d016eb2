package pgqueue_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresMigrateV1KeepsGrants: the roles of a version-1 deployment,
// granted what version 1's docs/deployment.md said (an application role
// INSERT on tlsmail.outbox; a worker role SELECT, UPDATE, DELETE on it and
// SELECT, INSERT on tlsmail.failed), go on working after `queue init`
// migrates the database to version 2: the application enqueues, the
// worker claims, reads the message, records a 250 and a failure. The
// rows moved to tlsmail.message, a table the migration creates; before,
// it had no grants but its owner's, so every enqueue and every claim of
// the other roles failed with "permission denied for table message"
// after the migration until an operator found the GRANTs to add.
func TestPostgresMigrateV1KeepsGrants(t *testing.T) {
	ctx := context.Background()
	url, conn := newV1DB(t, "v1g")
	app := fmt.Sprintf("v1app_%d_%d", os.Getpid(), dbSeq.Add(1))
	worker := fmt.Sprintf("v1worker_%d_%d", os.Getpid(), dbSeq.Add(1))
	for _, sql := range []string{
		`CREATE ROLE ` + app + ` LOGIN`,
		`CREATE ROLE ` + worker + ` LOGIN`,
		`GRANT USAGE ON SCHEMA tlsmail TO ` + app + `, ` + worker,
		`GRANT SELECT ON tlsmail.schema_version TO ` + app + `, ` + worker,
		`GRANT INSERT ON tlsmail.outbox TO ` + app,
		`GRANT SELECT, UPDATE, DELETE ON tlsmail.outbox TO ` + worker,
		`GRANT SELECT, INSERT ON tlsmail.failed TO ` + worker,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if from, err := pgqueue.Migrate(ctx, conn); err != nil || from != 1 {
		t.Fatalf("Migrate = %d, %v; want 1, nil", from, err)
	}
	as := func(role string) *pgqueue.Queue {
		return openPG(t, strings.Replace(url, "//tlsmail@", "//"+role+"@", 1), pgqueue.Options{})
	}
	qa, qw := as(app), as(worker)
	for i := range 2 {
		if _, err := qa.EnqueueData(ctx, env, outbox.Data{Settings: []byte(`{"host":"mx.example"}`)}, strings.NewReader(msg(i))); err != nil {
			t.Fatalf("enqueue by the application role after the migration: %v", err)
		}
	}
	batch, err := qw.Claim(ctx, 10, true, nil, time.Now().Add(time.Hour))
	if err != nil || len(batch) != 2 {
		t.Fatalf("claim by the worker role after the migration = %d items, %v; want 2", len(batch), err)
	}
	r, err := batch[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != msg(0) && string(b) != msg(1) {
		t.Errorf("content = %q", b)
	}
	if err := qw.Complete(ctx, batch[0].ID); err != nil {
		t.Errorf("recording a 250 by the worker role: %v", err)
	}
	if err := qw.Fail(ctx, batch[1].ID, "550 no", true); err != nil {
		t.Errorf("recording a failure by the worker role: %v", err)
	}
	var queued, messages, failed int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM tlsmail.outbox), (SELECT count(*) FROM tlsmail.message),
		(SELECT count(*) FROM tlsmail.failed)`).Scan(&queued, &messages, &failed); err != nil {
		t.Fatal(err)
	}
	if queued != 0 || messages != 0 || failed != 1 {
		t.Errorf("after a 250 and a failure: %d queued, %d messages, %d failed; want 0, 0, 1", queued, messages, failed)
	}
}
