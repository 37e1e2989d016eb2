package pgqueue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestPostgresClaimNeverMixesSettings: rows whose group_key is equal but
// whose settings differ (as the previous release wrote them for a caller's
// own Data.Group, e.g. "g" for every item, or a row edited by hand) are
// never claimed into one batch: a batch is delivered with its first item's
// settings, so a mixed one would send an item to another account's server
// with that account's credentials. Each batch's items have equal settings,
// and every item is claimed once.
func TestPostgresClaimNeverMixesSettings(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	settings := []string{`{"host":"mx1.example","port":25}`, `{"host":"mx2.example","port":25}`, `{"host":"mx1.example","port":25}`, `{"host":"mx2.example","port":25}`}
	for _, s := range settings {
		if _, err := q.EnqueueData(ctx, env, outbox.Data{Settings: []byte(s)}, strings.NewReader(msg(1))); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.outbox SET group_key = 'g'`); err != nil {
		t.Fatal(err)
	}
	claimed := 0
	for range len(settings) + 1 {
		batch, err := q.Claim(ctx, 100, true, nil, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, it := range batch[1:] {
			if string(it.Data()) != string(batch[0].Data()) {
				t.Errorf("one batch mixes %s and %s", batch[0].Data(), it.Data())
			}
		}
		claimed += len(batch)
	}
	if claimed != len(settings) {
		t.Errorf("claimed %d items, want %d", claimed, len(settings))
	}
}
