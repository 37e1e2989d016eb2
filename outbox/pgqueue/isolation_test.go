package pgqueue_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresStricterDefaultIsolation: a database (or role) whose
// default_transaction_isolation is repeatable read or serializable, as
// some sites set it, still runs the queue. Four `queue init` at once each
// succeed, and two runners claiming side by side take every item once,
// without error. Before, the package's statements ran at the database's
// level: three of the four inits failed with "the queue database is
// unavailable: no rows in result set" (the version read with the snapshot
// taken before the advisory lock), and a claim failed with "could not
// serialize access due to concurrent update" (SQLSTATE 40001) as soon as
// another runner had claimed a row it read, which stopped the run.
func TestPostgresStricterDefaultIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			ctx := context.Background()
			base := pg.URL(t)
			admin := dial(t, base)
			name := fmt.Sprintf("iso_%d_%d", os.Getpid(), dbSeq.Add(1))
			if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" SET default_transaction_isolation = '"+level+"'"); err != nil {
				t.Fatal(err)
			}
			url := strings.Replace(base, "/postgres?", "/"+name+"?", 1)
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := pgx.Connect(ctx, url)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close(ctx)
					if _, err := pgqueue.Migrate(ctx, c); err != nil {
						t.Errorf("Migrate beside three others: %v", err)
					}
				}()
			}
			wg.Wait()
			qs := []*pgqueue.Queue{openPG(t, url, pgqueue.Options{}), openPG(t, url, pgqueue.Options{})}
			const n = 300
			for i := range n {
				if _, err := qs[0].EnqueueData(ctx, env, outbox.Data{Settings: []byte(fmt.Sprintf(`{"h":%d}`, i%3))}, strings.NewReader(msg(i))); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			seen := map[string]int{}
			for _, q := range qs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						b, err := q.Claim(ctx, 5, true, nil, time.Now().Add(time.Hour))
						if err != nil {
							t.Errorf("Claim beside another runner: %v", err)
							return
						}
						if len(b) == 0 {
							return
						}
						for _, it := range b {
							mu.Lock()
							seen[it.ID]++
							mu.Unlock()
							if err := q.Complete(ctx, it.ID); err != nil {
								t.Errorf("Complete: %v", err)
							}
						}
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Errorf("claimed %d items, want %d", len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("item %s claimed %d times", id, k)
				}
			}
		})
	}
}
