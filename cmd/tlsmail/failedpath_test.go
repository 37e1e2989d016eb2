package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestQueuedFailedPath: a queued send that failed for good names where
// its item went, in the outbox's own words (outbox.Store.Where): the
// file in a spool directory's failed/, or the table and ID in a database.
func TestQueuedFailedPath(t *testing.T) {
	dir := t.TempDir()
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg := func(p outbox.Part) string { return "postgres://u@db:5432/mail (table tlsmail." + string(p) + ")" }
	for _, tc := range []struct {
		name string
		qr   queued
		want string
	}{
		{"spool", queued{id: "abc", store: q}, filepath.Join(dir, "failed", "abc.msg")},
		{"database", queued{id: "abc", store: whereStore{where: pg}}, "postgres://u@db:5432/mail (table tlsmail.failed) as abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := outbox.Locate(tc.qr.store, outbox.PartFailed, tc.qr.id); got != tc.want {
				t.Errorf("outbox.Locate = %q, want %q", got, tc.want)
			}
			tc.qr.res = outbox.Result{Outcome: outbox.Permanent, Err: errString("550 no such user")}
			if err := tc.qr.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not name %q", err, tc.want)
			}
		})
	}
}

// whereStore is an outbox in a database, as far as Where goes.
type whereStore struct {
	outbox.Store
	where func(outbox.Part) string
}

func (s whereStore) Where(p outbox.Part) string { return s.where(p) }

type errString string

func (e errString) Error() string { return string(e) }
