package main

import (
	"strings"
	"testing"
)

// TestQueueURLRefused: a --queue-url that is not PostgreSQL's, and one the
// driver cannot read, are usage errors (exit 64) naming the URL without
// its password, found before any connection (outbox/anystore's CheckURL
// and Migrate, with the command line's words).
func TestQueueURLRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not postgres", []string{"queue", "list", "--queue-url", "mysql://u@127.0.0.1/db"}, "--queue-url mysql://u@127.0.0.1/db is not a PostgreSQL URL"},
		{"unreadable at init", []string{"queue", "init", "--queue-url", "postgres://u@127.0.0.1:notaport/db"}, "cannot read the queue URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli{args: tt.args}.run(t)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "sslmode=verify-full") {
				t.Fatalf("want exit %d, %q and the URL's form\n%s", exitUsage, tt.want, r)
			}
		})
	}
}
