package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueuePostgresItemLogFile: an item of the PostgreSQL queue chooses,
// besides its password source, the log file its runner appends a line to
// (with addresses the item chose: in a shell start-up file or a crontab,
// a command). A row written by SQL that names the runner's configuration
// account but another logfile is delivered (its server and trust are the
// account's) and no line is written there, with a warning; a row whose
// logfile is the account's gets its line. Before Connector.ItemLog, the
// runner appended to the file the row named.
func TestQueuePostgresItemLogFile(t *testing.T) {
	url, conn := pgInitDB(t, "itemlog")
	srv := startServer(t, nil)
	dir := t.TempDir()
	logfile := filepath.Join(dir, "msmtp.log")
	victim := filepath.Join(dir, "bashrc")
	cfg, host, port := workAccountConfig(t, srv, dir, logfile, "")
	for i, lf := range []string{victim, logfile} {
		configAccountRow(t, conn, i, cfg, host, port, srv.CAFile(), lf, `{"from":"a;touch /tmp/x;@example.com","to":["bob@example.org"]}`)
	}
	r := cli{args: []string{"queue", "run", "--queue-url", url}, env: []string{"HOME=" + dir}}.run(t)
	if r.code != 0 || strings.Count(r.stdout, "delivered ") != 2 {
		t.Fatalf("queue run: want both rows delivered (they are the account's)\n%s", r)
	}
	if _, err := os.Stat(victim); err == nil {
		b, _ := os.ReadFile(victim)
		t.Errorf("the runner appended to the file the row named:\n%s", b)
	}
	if !strings.Contains(r.stderr, victim) || !strings.Contains(r.stderr, "not written") {
		t.Errorf("no warning naming the refused log file:\n%s", r)
	}
	b, err := os.ReadFile(logfile)
	if err != nil || strings.Count(string(b), "\n") != 1 {
		t.Errorf("the account's log file holds %q (%v); want the one line of the row that names it", b, err)
	}
}
