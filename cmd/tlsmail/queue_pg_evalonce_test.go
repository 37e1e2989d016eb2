package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueuePostgresConfigReadOncePerPass: a pass of `queue run` over a
// shared queue reads the configuration file its items name once, however
// many items it checks, logs in for and logs: the file's eval line (which
// appends to a counter file) runs once for 5 items delivered, each of
// which gets its log line. Before the pass kept what it read, the file was
// read again to check the batch, to log in and for each item's log line
// (its log settings are checked against the account's), and the eval line
// ran 7 times.
func TestQueuePostgresConfigReadOncePerPass(t *testing.T) {
	url, conn := pgInitDB(t, "evalonce")
	srv := startServer(t, nil)
	dir := t.TempDir()
	logfile := filepath.Join(dir, "msmtp.log")
	counter := filepath.Join(dir, "evals")
	cfg, host, port := workAccountConfig(t, srv, dir, logfile, fmt.Sprintf("eval echo ran >> %s; echo timeout 30\n", counter))
	const items = 5
	for i := range items {
		configAccountRow(t, conn, i, cfg, host, port, srv.CAFile(), logfile, `{"from":"ann@example.com","to":["bob@example.org"]}`)
	}
	r := cli{args: []string{"queue", "run", "--queue-url", url}, env: []string{"HOME=" + dir}}.run(t)
	if r.code != 0 || strings.Count(r.stdout, "delivered ") != items {
		t.Fatalf("queue run: want the %d rows delivered (they are the account's)\n%s", items, r)
	}
	if b, err := os.ReadFile(logfile); err != nil || strings.Count(string(b), "\n") != items {
		t.Errorf("the log file holds %q (%v); want %d lines", b, err, items)
	}
	if b, err := os.ReadFile(counter); err != nil || string(b) != "ran\n" {
		t.Errorf("the configuration file's eval line ran %d times (%q, %v); want once in the pass", strings.Count(string(b), "ran"), b, err)
	}
}
