package pgqueue_test

import (
	"context"
	"sync"
	"testing"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresMigrateConcurrent: docs/deployment.md says `queue init` is
// safe "from several hosts at once: it takes an advisory lock". Several
// connections create the schema at the same moment on an empty database:
// every Migrate succeeds (without the lock, concurrent CREATEs of the same
// schema and tables fail with a duplicate key in the catalog), and the
// queue opens afterwards.
func TestPostgresMigrateConcurrent(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	if _, err := dial(t, url).Exec(ctx, `DROP SCHEMA tlsmail CASCADE`); err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		c := dial(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = pgqueue.Migrate(ctx, c)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d of %d at once: %v", i+1, n, err)
		}
	}
	openPG(t, url, pgqueue.Options{})
}
