package submit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// Enqueue records a DSN request (RFC 3461) with the item, in upper case,
// and the deliverer sends it (prepareItem's envelope carries it); a
// request RFC 3461 does not allow is refused at once.
func TestEnqueueDSN(t *testing.T) {
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &Account{Host: "mx.example", Port: 587}
	enqueue := func(notify, ret string) (string, error) {
		return Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"},
			DSNNotify: notify, DSNReturn: ret}, strings.NewReader("Subject: hi\r\n\r\nbody\r\n"))
	}
	id, err := enqueue("success,failure", "hdrs")
	if err != nil {
		t.Fatal(err)
	}
	it, err := q.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	env, r, err := prepareItem(it)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := r.(interface{ Close() error }); ok {
		c.Close()
	}
	if env.DSN.Notify != "SUCCESS,FAILURE" || env.DSN.Return != "HDRS" {
		t.Errorf("delivered with DSN %+v, want SUCCESS,FAILURE and HDRS", env.DSN)
	}
	for _, bad := range [][2]string{{"NEVER,SUCCESS", ""}, {"", "HEADERS"}, {"FAILURE\r\nRSET", ""}} {
		var e *Error
		if _, err := enqueue(bad[0], bad[1]); !errors.As(err, &e) || e.Field != "dsn" {
			t.Errorf("NOTIFY %q RET %q: %v, want an *Error of Field dsn", bad[0], bad[1], err)
		}
	}
}
