package anystore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/anystore"
)

// A program takes its outbox from its own setting, else from tlsmail's
// environment variables, and opens whichever store that names: a spool
// directory here, a PostgreSQL queue for a postgres:// URL.
func Example() {
	tmp, err := os.MkdirTemp("", "anystore-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	env := map[string]string{"TLSMAIL_QUEUE_DIR": filepath.Join(tmp, "outbox")}

	loc, err := anystore.Choose(
		anystore.Source{Names: "the program's queue_dir and queue_url"}, // not set
		anystore.Env(func(k string) string { return env[k] }))
	if err != nil || loc.IsZero() {
		fmt.Println("no outbox:", err)
		return
	}
	q, err := anystore.Open(context.Background(), loc, anystore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := q.EnqueueData(context.Background(), outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
		outbox.Data{Settings: []byte(`{}`)}, strings.NewReader("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		fmt.Println(err)
		return
	}
	n, _ := q.Count()
	fmt.Println(n, "queued; failed items go to", filepath.Base(q.Where(outbox.PartFailed)))
	fmt.Println(anystore.RedactURL("postgres://mail:s3cret@db.example.org/mail?sslmode=verify-full"))
	// Output:
	// 1 queued; failed items go to failed
	// postgres://mail:xxxxx@db.example.org/mail?sslmode=verify-full
}
