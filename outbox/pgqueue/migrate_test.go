package pgqueue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresMigrateV1: a database of schema version 1 (the message in
// the queue row) with a fresh item, a deferred one, one whose dead
// runner's lease has ended, one held by a live runner, and a failed one
// migrates to version 2 (Migrate says it found 1): every item is listed
// with its envelope, settings, content and retry state, the failed one
// keeps its reason and content, a run delivers the three due items into
// the embedded server (their messages intact) and leaves the held one
// queued, still held.
func TestPostgresMigrateV1(t *testing.T) {
	ctx := context.Background()
	url, conn := newV1DB(t, "v1")
	srv, a := startServer(t)
	settings, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	envJSON, _ := json.Marshal(&env)
	// The rows as version 1 wrote them (its EnqueueTx's INSERT, then the
	// retry state and lease its runners set).
	rows := []struct {
		id, extra string
	}{
		{"0000000000001aa", ``},
		{"0000000000002bb", `attempts = 2, last_attempt = now() - interval '1 hour', last_error = '451 try later', next_attempt = now() - interval '1 minute'`},
		{"0000000000003cc", `lease_owner = 'dead/1/x', lease_until = now() - interval '1 minute', next_attempt = now() - interval '1 minute'`},
		{"0000000000004dd", `lease_owner = 'live/2/y', lease_until = now() + interval '1 hour', next_attempt = now() + interval '1 hour'`},
	}
	for i, r := range rows {
		if _, err := conn.Exec(ctx, `INSERT INTO tlsmail.outbox (id, envelope, settings, group_key, content, size)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.id, envJSON, settings, string(settings), []byte(msg(i)), len(msg(i))); err != nil {
			t.Fatal(err)
		}
		if r.extra != "" {
			if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET `+r.extra+` WHERE id = $1`, r.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tlsmail.failed (id, created, envelope, settings, group_key, content, size,
		attempts, last_error, failed_at, reason, permanent)
		VALUES ('0000000000000ff', now(), $1, $2, $3, $4, $5, 1, '550 no', now(), '550 no such user', true)`,
		envJSON, settings, string(settings), []byte(msg(9)), len(msg(9))); err != nil {
		t.Fatal(err)
	}

	if from, err := pgqueue.Migrate(ctx, conn); err != nil || from != 1 {
		t.Fatalf("Migrate = %d, %v; want 1, nil", from, err)
	}
	q := openPG(t, url, pgqueue.Options{})
	items, err := q.List()
	if err != nil || len(items) != len(rows) {
		t.Fatalf("List = %d items, %v; want %d", len(items), err, len(rows))
	}
	for i, it := range items {
		if it.ID != rows[i].id || it.Envelope.To[0] != env.To[0] || string(it.Data()) != string(normalize(t, conn, settings)) || content(t, it) != msg(i) {
			t.Errorf("item %d after the migration: %s %+v %s %q", i, it.ID, it.Envelope, it.Data(), content(t, it))
		}
	}
	if items[1].Attempts != 2 || items[1].LastError != "451 try later" {
		t.Errorf("the deferred item lost its retry state: %d attempts, %q", items[1].Attempts, items[1].LastError)
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != 1 || failed[0].Reason != "550 no such user" || content(t, failed[0]) != msg(9) {
		t.Fatalf("ListFailed after the migration = %v, %v", failed, err)
	}

	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Delivered != 3 || st.Busy != 1 {
		t.Fatalf("Run = %+v, %v; want 3 delivered, 1 held by a live runner", st, err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, seen := received(t, wctx, srv, 3)
	for i := range 3 {
		if seen[msg(i)] != 1 {
			t.Errorf("message %d arrived %d times", i, seen[msg(i)])
		}
	}
	if n != 3 {
		t.Errorf("the server got %d messages, want 3", n)
	}
	var owner string
	if err := conn.QueryRow(ctx, `SELECT lease_owner FROM tlsmail.outbox WHERE id = $1`, rows[3].id).Scan(&owner); err != nil || owner != "live/2/y" {
		t.Errorf("the held item: owner %q, %v; want it still held by its runner", owner, err)
	}
}

// normalize is settings as jsonb stores and prints them.
func normalize(t *testing.T, conn *pgx.Conn, settings []byte) []byte {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), `SELECT $1::jsonb::text`, string(settings)).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// content is an item's message.
func content(t *testing.T, it *outbox.Item) string {
	t.Helper()
	rc, err := it.Open()
	if err != nil {
		t.Fatalf("item %s: %v", it.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("item %s: %v", it.ID, err)
	}
	return string(b)
}

// newV1DB creates a fresh database named after prefix and migrates it to
// schema version 1 only (as a version-1 deployment left it), returning
// its URL and the tests' own connection to it.
func newV1DB(t *testing.T, prefix string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	base := pg.URL(t)
	admin := dial(t, base)
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), dbSeq.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(base, "/postgres?", "/"+name+"?", 1)
	conn := dial(t, url)
	if from, err := pgqueue.MigrateTo(ctx, conn, 1); err != nil || from != 0 {
		t.Fatalf("migrating to version 1 = %d, %v", from, err)
	}
	return url, conn
}
