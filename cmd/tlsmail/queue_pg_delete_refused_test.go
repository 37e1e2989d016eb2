package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestQueuePostgresDeleteRefused: queue run whose deletion of delivered
// messages the database refuses (a trigger here; a worker role without
// DELETE in a deployment) exits 78 saying the messages were delivered and
// are still queued, and sends no more than the bound (per connection:
// --parallel 1, so that the bound is the run's). Before 7157eca, it exited
// 0 having sent every queued message, each to be sent again after its
// lease; then 75, which told cron or a supervisor to run it again (and
// send them again).
func TestQueuePostgresDeleteRefused(t *testing.T) {
	url, conn := pgInitDB(t, "deleterefused")
	srv := startServer(t, nil)
	deferSends(t, srv, url, 3)
	if _, err := conn.Exec(context.Background(), `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$;
		CREATE TRIGGER refuse BEFORE DELETE ON tlsmail.outbox FOR EACH ROW EXECUTE FUNCTION public.refuse()`); err != nil {
		t.Fatal(err)
	}
	r := cli{args: []string{"queue", "run", "--queue-url", url, "--queue-secrets", "env", "--max-unrecorded", "1", "--parallel", "1"}, env: authEnv()}.run(t)
	t.Logf("queue run:\n%s", r)
	if r.code != exitConfig || !strings.Contains(r.stderr, "cannot record the delivery") || !strings.Contains(r.stderr, "sent again") {
		t.Fatalf("queue run with the deletion refused: want exit %d saying the delivery was not recorded\n%s", exitConfig, r)
	}
	if ms, err := srv.Messages(); err != nil || len(ms) > 2 {
		t.Errorf("%d messages sent (%v); want at most --max-unrecorded + 1 = 2", len(ms), err)
	}
	if r := runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "3 queued, 0 failed") {
		t.Fatalf("queue list --count:\n%s", r)
	}
}

// TestQueuePostgresWatchDeleteRefused: `queue run --watch` as a worker
// role without DELETE (docs/deployment.md gives workers DELETE on
// tlsmail.outbox and tlsmail.message; SQLSTATE 42501 without it) stops
// after its first pass with exit 78 and the GRANT that fixes it, having
// sent at most the first pass's bound (--parallel 1 × (--max-unrecorded 1
// + 1) = 2 messages). Before, each pass's deletion failed, the worker
// printed the error and went on: every lease (3s) the same messages came
// back and were sent again, for as long as it ran.
func TestQueuePostgresWatchDeleteRefused(t *testing.T) {
	ctx := context.Background()
	url, conn := pgInitDB(t, "watchdeleterefused")
	srv := startServer(t, nil)
	deferSends(t, srv, url, 3)
	// The workers' grants of docs/deployment.md, less DELETE.
	for _, sql := range []string{
		`CREATE ROLE worker_nodelete LOGIN`,
		`GRANT USAGE ON SCHEMA tlsmail TO worker_nodelete`,
		`GRANT SELECT ON tlsmail.schema_version TO worker_nodelete`,
		`GRANT SELECT, UPDATE ON tlsmail.outbox TO worker_nodelete`,
		`GRANT SELECT ON tlsmail.message TO worker_nodelete`,
		`GRANT SELECT, INSERT ON tlsmail.failed TO worker_nodelete`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	workerURL := strings.Replace(url, "//tlsmail@", "//worker_nodelete@", 1)
	// Bounded: before, the worker never stopped; 30s is ten leases.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	w := exec.CommandContext(wctx, tlsmailBin, "queue", "run", "--watch", "--interval", "1s", "--lease", "3s",
		"--max-unrecorded", "1", "--parallel", "1", "--queue-secrets", "env", "--queue-url", workerURL)
	w.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, authEnv()...)
	var stdout, stderr bytes.Buffer
	w.Stdout, w.Stderr = &stdout, &stderr
	err := w.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	}
	ms, merr := srv.Messages()
	if merr != nil {
		t.Fatal(merr)
	}
	if wctx.Err() != nil {
		t.Fatalf("queue run --watch with no DELETE right did not stop in 30s; %d messages sent\n%s", len(ms), r)
	}
	t.Logf("queue run --watch:\n%s", r)
	if r.code != exitConfig || !strings.Contains(r.stderr, "cannot record the delivery") || !strings.Contains(r.stderr, "GRANT") ||
		!strings.Contains(r.stderr, "DELETE on tlsmail.outbox and tlsmail.message") {
		t.Fatalf("queue run --watch with no DELETE right: want exit %d, the delivery not recorded and the GRANT\n%s", exitConfig, r)
	}
	if len(ms) > 2 {
		t.Errorf("%d messages sent; want at most the first pass's --parallel × (--max-unrecorded + 1) = 2", len(ms))
	}
}
