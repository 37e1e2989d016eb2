package outbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// dbStore stands for a Store in a database: only Where is called.
type dbStore struct{ Store }

func (dbStore) Where(p Part) string {
	return "postgres://u@db:5432/mail (table tlsmail." + string(p) + ")"
}

// TestLocate: an item is named where a person finds it: the file of a
// spool directory (checked by failing a real item and finding its file
// there), or the table and ID in a database.
func TestLocate(t *testing.T) {
	t.Parallel()
	q, err := Open(testdir.New(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := q.EnqueueData(ctx, Envelope{From: "a@example.org", To: []string{"b@example.org"}}, Data{Settings: []byte(`{}`)}, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Locate(q, PartQueued, id)); err != nil {
		t.Errorf("the queued item is not at Locate: %v", err)
	}
	_, err = q.Run(ctx, RunConfig{Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			report(it, Result{Outcome: Permanent, Err: errors.New("550 no such user")})
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := Locate(q, PartFailed, id)
	if path != filepath.Join(q.Dir(), "failed", id+".msg") {
		t.Errorf("Locate(failed) = %s", path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the failed item is not at Locate: %v", err)
	}
	if got, want := Locate(dbStore{}, PartFailed, "abc"), "postgres://u@db:5432/mail (table tlsmail.failed) as abc"; got != want {
		t.Errorf("Locate in a database = %q, want %q", got, want)
	}
}
