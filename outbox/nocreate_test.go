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

// TestOpenNoCreate: a spool opened with NoCreate (for reading only: a
// listing, queue show, queue remove) is not created when it does not
// exist, neither the directory nor its parents, and reads as empty: no
// item listed, walked or counted, queued or failed, and Get and Remove say
// ErrNotFound. Before, Open made the directories whatever the caller
// meant to do, so a mistyped directory given to a listing was left behind
// as a new empty spool. An existing spool opened with NoCreate reads and
// removes as before.
func TestOpenNoCreate(t *testing.T) {
	base := testdir.New(t)
	dir := filepath.Join(base, "typo", "queue")
	q, err := Open(dir, Options{NoCreate: true})
	if err != nil {
		t.Fatalf("Open(NoCreate) of a missing spool: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base, "typo")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(NoCreate) made %s (stat: %v)", filepath.Join(base, "typo"), err)
	}
	for name, f := range map[string]func() (int, error){
		"List":        func() (int, error) { its, err := q.List(); return len(its), err },
		"ListFailed":  func() (int, error) { its, err := q.ListFailed(); return len(its), err },
		"Count":       q.Count,
		"CountFailed": q.CountFailed,
		"Walk":        func() (int, error) { n := 0; err := q.Walk(func(*Item) error { n++; return nil }); return n, err },
		"WalkFailed":  func() (int, error) { n := 0; err := q.WalkFailed(func(*Item) error { n++; return nil }); return n, err },
	} {
		if n, err := f(); n != 0 || err != nil {
			t.Errorf("%s of a missing spool = %d, %v; want 0, nil (empty)", name, n, err)
		}
	}
	const id = "0123456789abcdef0123456789abcdef"
	if _, err := q.Get(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing spool = %v; want ErrNotFound", err)
	}
	if err := q.Remove(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing spool = %v; want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(base, "typo")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading the spool made %s (stat: %v)", filepath.Join(base, "typo"), err)
	}

	// An existing spool: NoCreate reads and removes as Open does.
	w, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	qid, err := w.EnqueueData(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		testSettings.data(), strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, Options{NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Count(); n != 1 || err != nil {
		t.Errorf("Count of the existing spool = %d, %v; want 1", n, err)
	}
	if it, err := r.Get(qid); err != nil || it.ID != qid {
		t.Errorf("Get = %v, %v", it, err)
	}
	if err := r.Remove(qid); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if n, err := r.Count(); n != 0 || err != nil {
		t.Errorf("Count after Remove = %d, %v; want 0", n, err)
	}
}
