package main

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

// TestQueuePostgresTooLarge: the PostgreSQL queue's size limit is explicit
// and enforced at enqueue. A message over --max-size, and one over the
// queue's ceiling of 64 MiB even with --max-size -1 (which lifts the spool
// directory's limit, not the database's: the queue holds a message in
// memory), is refused with exit 69 (as for the spool: retrying changes
// nothing), the JSON kind too_large, the limit in bytes and what to do
// instead (send it directly or queue it in a spool directory, which
// streams); nothing is queued.
func TestQueuePostgresTooLarge(t *testing.T) {
	url, _, q := pgInitQueue(t, "toolarge")
	srv := startServer(t, nil)
	head := "From: ann@example.com\r\nTo: bob@example.org\r\nSubject: big\r\n\r\n"
	tests := []struct {
		name    string
		maxSize string
		body    int64
		limit   int64
	}{
		{"over --max-size", "65536", 100 << 10, 65536},
		{"over the ceiling, --max-size -1", "-1", pgqueue.DefaultMaxSize, pgqueue.DefaultMaxSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(), "--user", testUser, "--password-env", passwordVar,
				"--from", "ann@example.com", "--to", "bob@example.org", "--defer", "--queue-url", url,
				"--max-size", tt.maxSize, "--message", "-", "--json"}
			r := cli{args: args, env: authEnv(), stdin: io.MultiReader(strings.NewReader(head), io.LimitReader(endless{}, tt.body))}.run(t)
			if r.code != exitUnavailable || !strings.Contains(r.stderr+r.stdout, "limit of "+strconv.FormatInt(tt.limit, 10)+" bytes") ||
				!strings.Contains(r.stderr+r.stdout, "spool directory") {
				t.Fatalf("want exit %d naming the limit (%d bytes) and the spool directory\n%.2000s", exitUnavailable, tt.limit, r)
			}
			if kind := decodeJSON(t, r)["error"].(map[string]any)["kind"]; kind != "too_large" {
				t.Errorf("error.kind = %v, want too_large", kind)
			}
		})
	}
	if n, err := q.Count(); err != nil || n != 0 {
		t.Fatalf("%d items queued (%v) after refused messages", n, err)
	}
}
