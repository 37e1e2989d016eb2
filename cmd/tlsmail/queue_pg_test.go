package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// pg is the package's private PostgreSQL cluster (stopped by TestMain).
var pg testpg.Cluster

// pgDB creates a fresh, empty database and returns its URL.
func pgDB(t *testing.T, name string) string {
	t.Helper()
	base := pg.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(base, "/postgres?", "/"+name+"?", 1)
}

// pgInitDB creates the database name as pgDB does, runs `queue init` on
// it, and returns its URL and the test's own connection to it (closed
// when the test ends), to change behind the queue's back.
func pgInitDB(t *testing.T, name string) (string, *pgx.Conn) {
	t.Helper()
	url := pgDB(t, name)
	if r := runTLSMail(t, "queue", "init", "--queue-url", url); r.code != 0 {
		t.Fatalf("queue init:\n%s", r)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return url, conn
}

// pgInitQueue is pgInitDB with the queue also opened as a library user
// opens it (closed when the test ends), to enqueue or count behind the
// command line's back.
func pgInitQueue(t *testing.T, name string) (string, *pgx.Conn, *pgqueue.Queue) {
	t.Helper()
	url, conn := pgInitDB(t, name)
	q, err := pgqueue.Open(context.Background(), url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return url, conn, q
}

// deferSends queues n messages to srv with send --defer on the queue at
// url, each a separate tlsmail process, as an application host would.
func deferSends(t *testing.T, srv *server.Server, url string, n int) {
	t.Helper()
	for range n {
		if r := (cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
			t.Fatalf("send --defer:\n%s", r)
		}
	}
}

// serverHostPort returns the host and the port number of srv's SMTP
// (STARTTLS) listener, as an Account or a configuration file names them.
func serverHostPort(t *testing.T, srv *server.Server) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(srv.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// envAccount is the Account a library user's program would enqueue with
// for srv: STARTTLS on its SMTP port, its CA trusted, and a login as the
// test's user whose password the runner takes from its environment
// (passwordVar, which authEnv sets), never from the row.
func envAccount(t *testing.T, srv *server.Server) *submit.Account {
	t.Helper()
	host, port := serverHostPort(t, srv)
	return &submit.Account{Host: host, Port: port, Mode: smtp.StartTLS, Trust: submit.Trust{CAFile: srv.CAFile()},
		Auth: submit.Auth{Mechanism: "AUTO", User: testUser, Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: passwordVar}}}
}

// workAccountConfig writes, in dir, the runner's configuration file: its
// account "work" reaches srv with STARTTLS, trusts srv's CA, logs in with
// the test's user and password and logs to logfile; extra (whole lines,
// each ending in "\n") follows. It returns the file and srv's host and
// port, which configAccountRow's rows name.
func workAccountConfig(t *testing.T, srv *server.Server, dir, logfile, extra string) (string, string, int) {
	t.Helper()
	host, port := serverHostPort(t, srv)
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("account work\nhost %s\nport %d\ntls on\ntls_starttls on\ntls_trust_file %s\nlogfile %s\nauth on\nuser %s\npassword %s\n%s",
		host, port, srv.CAFile(), logfile, testUser, testPassword, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, host, port
}

// configAccountRow writes, as an application host's SQL would, a queue
// row whose settings name the runner's configuration account "work" in
// the file cfg (its password source), for the server at host:port trusted
// through caFile, with the log file logfile; the row's envelope is
// envelope and its message a short one numbered i.
func configAccountRow(t *testing.T, conn *pgx.Conn, i int, cfg, host string, port int, caFile, logfile, envelope string) {
	t.Helper()
	settings, _ := json.Marshal(map[string]any{"config_file": cfg, "account": "work", "config_host": host,
		"host": host, "port": port, "tls": "starttls", "trust_file": caFile, "auth": "on", "user": testUser,
		"secret": map[string]string{"source": "config", "ref": "work"}, "logfile": logfile})
	content := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
	id := fmt.Sprintf("%013x%016x", time.Now().UnixMicro(), i)
	if _, err := conn.Exec(context.Background(), `WITH m AS (INSERT INTO tlsmail.message (id, envelope, settings, content) VALUES ($1, $2, $3, $4))
		INSERT INTO tlsmail.outbox (id, group_key, size) VALUES ($1, md5($5::text), $6)`,
		id, envelope, settings, []byte(content), string(settings), len(content)); err != nil {
		t.Fatal(err)
	}
}

// TestQueuePostgresCLI: the command line on the PostgreSQL queue: before
// `queue init` a send --defer is refused (exit 78, saying to run init);
// init creates the schema (and says so again when run twice); send
// --defer queues (by flag and by TLSMAIL_QUEUE_URL), queue list shows the
// messages, queue run delivers them into the embedded server once each,
// and the queue is empty after.
func TestQueuePostgresCLI(t *testing.T) {
	url := pgDB(t, "cli")
	srv := startServer(t, nil)
	send := baseSend(srv.SMTPAddr(), srv.CAFile())

	r := cli{args: append(send, "--defer", "--queue-url", url), env: authEnv()}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "queue init") {
		t.Fatalf("send --defer before init: want exit %d naming queue init\n%s", exitConfig, r)
	}
	for i, want := range []string{fmt.Sprintf("now version %d (was 0)", pgqueue.SchemaVersion), fmt.Sprintf("up to date (version %d)", pgqueue.SchemaVersion)} {
		r = runTLSMail(t, "queue", "init", "--queue-url", url)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("queue init #%d: want %q\n%s", i+1, want, r)
		}
	}
	if r = (cli{args: append(send, "--defer", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
		t.Fatalf("send --defer --queue-url:\n%s", r)
	}
	if r = (cli{args: append(send, "--defer"), env: append(authEnv(), "TLSMAIL_QUEUE_URL="+url)}).run(t); r.code != 0 {
		t.Fatalf("send --defer with TLSMAIL_QUEUE_URL:\n%s", r)
	}
	r = runTLSMail(t, "queue", "list", "--count", "--queue-url", url)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "2 queued, 0 failed in postgres://tlsmail@127.0.0.1:") {
		t.Fatalf("queue list --count:\n%s", r)
	}
	r = runTLSMail(t, "queue", "list", "--queue-url", url)
	if r.code != 0 || strings.Count(r.stdout, "bob@example.org") != 2 {
		t.Fatalf("queue list:\n%s", r)
	}
	// The items take their password from an environment variable, which
	// anyone who can write the queue could have named: refused (exit 75,
	// deferred, nothing sent) until the runner opts in.
	r = cli{args: []string{"queue", "run", "--queue-url", url}, env: authEnv()}.run(t)
	if r.code != exitTempFail || strings.Count(r.stdout, "deferred  ") != 2 || !strings.Contains(r.stdout, "source env") ||
		!strings.Contains(r.stderr, "--queue-secrets env") {
		t.Fatalf("queue run of env-password items without --queue-secrets: want exit %d, both deferred naming --queue-secrets\n%s", exitTempFail, r)
	}
	if ms, _ := srv.Messages(); len(ms) != 0 {
		t.Fatalf("the server got %d messages from refused items", len(ms))
	}
	r = cli{args: []string{"queue", "run", "--queue-url", url, "--queue-secrets", "bogus"}, env: authEnv()}.run(t)
	if r.code != exitUsage || !strings.Contains(r.stderr, "unknown secret source") {
		t.Fatalf("--queue-secrets bogus: want exit %d\n%s", exitUsage, r)
	}
	r = cli{args: []string{"queue", "flush", "--queue-url", url, "--queue-secrets", "env"}, env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("queue flush --queue-secrets env:\n%s", r)
	}
	ms := waitMessages(t, srv, 2)
	if len(ms) != 2 {
		t.Fatalf("server got %d messages, want 2", len(ms))
	}
	r = runTLSMail(t, "queue", "list", "--count", "--queue-url", url)
	if !strings.HasPrefix(r.stdout, "0 queued, 0 failed") {
		t.Fatalf("queue list --count after the run:\n%s", r)
	}
	// send --queue delivers its own item at once: its settings are the
	// ones it queued (submit.ItemPolicy.Own), its own password source.
	if r = (cli{args: append(send, "--queue", "--queue-url", url), env: authEnv()}).run(t); r.code != 0 {
		t.Fatalf("send --queue --queue-url with an env password:\n%s", r)
	}
	if ms := waitMessages(t, srv, 3); len(ms) != 3 {
		t.Fatalf("server got %d messages, want 3", len(ms))
	}
}

// TestQueuePostgresFlags: a directory and a URL together are refused
// (exit 64); a password in --queue-url is refused without being echoed;
// an unreachable database is exit 75 and nothing is queued.
func TestQueuePostgresFlags(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "postgres://u@" + l.Addr().String() + "/db?sslmode=disable&connect_timeout=5"
	l.Close()
	dir := t.TempDir()
	srv := startServer(t, nil)
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"dir and url flags", []string{"queue", "list", "--queue-dir", dir, "--queue-url", dead}, nil, exitUsage, "--queue-dir and --queue-url are both given"},
		{"dir and url variables", []string{"queue", "list"}, []string{"TLSMAIL_QUEUE_DIR=" + dir, "TLSMAIL_QUEUE_URL=" + dead}, exitUsage, "TLSMAIL_QUEUE_DIR and TLSMAIL_QUEUE_URL are both given"},
		{"password in the url", []string{"queue", "list", "--queue-url", "postgres://u:hunter2@127.0.0.1/db"}, nil, exitUsage, "pgpass"},
		{"password parameter", []string{"queue", "list", "--queue-url", "postgres://u@127.0.0.1/db?password=hunter2"}, nil, exitUsage, "pgpass"},
		// libpq's key=value form allows spaces around '=' (pgx too): a
		// check for "password=" alone let these through to the database.
		{"password keyword", []string{"queue", "list", "--queue-url", "host=127.0.0.1 user=u password=hunter2"}, nil, exitUsage, "pgpass"},
		{"password keyword, spaced", []string{"queue", "list", "--queue-url", "host=127.0.0.1 user=u password = hunter2"}, nil, exitUsage, "pgpass"},
		{"password keyword, tab", []string{"queue", "list", "--queue-url", "host=127.0.0.1 user=u password\t=hunter2"}, nil, exitUsage, "pgpass"},
		{"unreachable at enqueue", append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", dead), authEnv(), exitTempFail, "unavailable"},
		// docs/deployment.md: sendmail enqueueing while the database is
		// down exits 75 too, and a worker started then exits 75 (its
		// service manager restarts it) rather than running without a queue.
		{"unreachable at sendmail -odq", []string{"sendmail", "-odq", "--host=127.0.0.1", "--from=a@example.com", "x@example.com"}, []string{"TLSMAIL_QUEUE_URL=" + dead}, exitTempFail, "unavailable"},
		{"worker started while unreachable", []string{"queue", "run", "--watch", "--queue-url", dead}, nil, exitTempFail, "unavailable"},
		{"unreachable at queue list", []string{"queue", "list", "--queue-url", dead}, nil, exitTempFail, "unavailable"},
		{"unreachable at queue run", []string{"queue", "run", "--queue-url", dead}, nil, exitTempFail, "unavailable"},
		{"unreachable at send --queue", append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--queue", "--queue-url", dead), authEnv(), exitTempFail, "unavailable"},
		{"lease over pgqueue.MaxLease", []string{"queue", "run", "--queue-url", dead, "--lease", "2h"}, nil, exitUsage, "--lease must be at most 1h0m0s"},
		{"init without url", []string{"queue", "init", "--queue-dir", dir}, nil, exitUsage, "--queue-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A message on standard input for the sendmail row; the
			// other commands do not read it.
			r := cli{args: tt.args, env: tt.env, stdin: strings.NewReader("Subject: s\n\nbody\n")}.run(t)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("want exit %d and %q\n%s", tt.code, tt.want, r)
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2") {
				t.Fatalf("the password is shown:\n%s", r)
			}
			// The advice is printed once, on the fix line (it was in
			// the message too).
			if advice := "check that PostgreSQL is running"; tt.want == "unavailable" && strings.Count(r.stderr, advice) != 1 {
				t.Fatalf("%q printed %d times, want once:\n%s", advice, strings.Count(r.stderr, advice), r)
			}
		})
	}
}

// TestQueuePostgresSendmail: sendmail with the queue in PostgreSQL (the
// configuration's queue_url): the server answers 451 to the first MAIL
// FROM, so the message stays queued with its attempt and error; the
// database holds no password (the account's password is in the
// configuration file, which the item names); queue run leaves the message
// until it is due, queue flush delivers it once; queue remove of an
// unknown ID is refused.
func TestQueuePostgresSendmail(t *testing.T) {
	url, _ := pgInitDB(t, "sendmail")
	var refusals atomic.Int32
	m := newMailbox(t, func(c *server.Config) {
		c.RejectMail = func(string) *server.Reply {
			if refusals.Add(1) == 1 {
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "try again later"}
			}
			return nil
		}
	}, nil)
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "timeout 30\n", "timeout 30\nqueue_url "+url+"\n", 1))
	if err := os.WriteFile(m.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "451") || !strings.Contains(r.stderr, "safe in the outbox") {
		t.Fatalf("sendmail: want exit 0 naming the 451:\n%s", r)
	}
	env := []string{"TLSMAIL_QUEUE_URL=" + url}
	r = proc{args: []string{"queue", "list", "--json"}, env: env}.run(t)
	var q queueJSON
	if err := json.Unmarshal([]byte(r.stdout), &q); err != nil || len(q.Queued) != 1 || q.Queued[0].Attempts != 1 ||
		!strings.Contains(q.Queued[0].LastError, "451") || q.Queued[0].NextAttempt.IsZero() {
		t.Fatalf("queue list --json: %v\n%s", err, r)
	}

	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var dump string
	if err := conn.QueryRow(context.Background(), `SELECT string_agg(t, E'\n') FROM (SELECT o::text AS t FROM tlsmail.outbox o UNION ALL SELECT m::text FROM tlsmail.message m) x`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump, m.cfg) || strings.Contains(dump, testPassword) {
		t.Fatalf("the item should name the configuration file and hold no password:\n%s", dump)
	}

	r = proc{args: []string{"queue", "run"}, env: env}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "1 not due yet") {
		t.Fatalf("queue run before the retry time:\n%s", r)
	}
	r = proc{args: []string{"queue", "flush"}, env: env}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "delivered "+q.Queued[0].ID) {
		t.Fatalf("queue flush:\n%s", r)
	}
	if got := storedCount(t, m.srv); got != 1 {
		t.Errorf("the server stored %d messages, want 1", got)
	}
	r = proc{args: []string{"queue", "list", "--count"}, env: env}.run(t)
	if !strings.HasPrefix(r.stdout, "0 queued, 0 failed") {
		t.Fatalf("queue list --count after flush:\n%s", r)
	}
	r = proc{args: []string{"queue", "remove", q.Queued[0].ID}, env: env}.run(t)
	if r.code != exitNoInput {
		t.Fatalf("queue remove of a delivered ID: want exit %d\n%s", exitNoInput, r)
	}
}

// TestQueuePostgresWatchNotify: `queue run --watch --interval 1h` delivers
// a message another process queues with send --defer at once: only the
// NOTIFY of the enqueue can wake it before the test's deadline.
func TestQueuePostgresWatchNotify(t *testing.T) {
	url, conn := pgInitDB(t, "watch")
	srv := startServer(t, nil)
	w := exec.Command(tlsmailBin, "queue", "run", "--watch", "--interval", "1h", "--queue-secrets", "env")
	w.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TLSMAIL_QUEUE_URL=" + url}, authEnv()...)
	// Read while the worker writes: watchWriter locks (a strings.Builder
	// read here raced with the exec package's copying goroutine).
	out := &watchWriter{seen: make(chan struct{})}
	w.Stdout, w.Stderr = out, out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Kill(); w.Wait() }()
	// Wait for the worker's LISTEN (its first, empty pass runs with it).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never listened:\n%s", out.String())
		}
	}
	time.Sleep(300 * time.Millisecond)
	r := cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--defer", "--queue-url", url), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("send --defer:\n%s", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.Wait(ctx, 1); err != nil {
		t.Fatalf("the worker (interval 1h) was not woken by the enqueue: %v\n%s", err, out.String())
	}
}

// TestQueuePostgresNewerSchema: a database migrated by a newer tlsmail is
// refused by queue list and queue init alike with exit 78 (retrying
// changes nothing) and a fix naming a newer tlsmail, not queue init
// (which cannot downgrade a schema).
func TestQueuePostgresNewerSchema(t *testing.T) {
	ctx := context.Background()
	url, conn := pgInitDB(t, "newer")
	if _, err := conn.Exec(ctx, `UPDATE tlsmail.schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"queue", "list"}, {"queue", "init"}} {
		r := runTLSMail(t, append(args, "--queue-url", url)...)
		if r.code != exitConfig || !strings.Contains(r.stderr, "fix: use a newer tlsmail") || strings.Contains(r.stderr, "Migrate") {
			t.Errorf("%v on a newer schema: want exit %d and a fix naming a newer tlsmail\n%s", args, exitConfig, r)
		}
	}
}

// TestQueuePostgresSendmailEnqueueOnly: sendmail on an application host
// whose role has the rights docs/deployment.md gives application hosts
// (INSERT on tlsmail.outbox and tlsmail.message, no UPDATE): the message is queued and sendmail
// exits 0, but its immediate delivery cannot claim the item; the line it
// prints says why (the database's refusal, not "another runner took it")
// and names the database by its URL (filepath.Clean had made
// "postgres://" into "postgres:/").
func TestQueuePostgresSendmailEnqueueOnly(t *testing.T) {
	ctx := context.Background()
	url, conn := pgInitDB(t, "enqueueonly")
	for _, sql := range []string{
		`CREATE ROLE app_enqueueonly LOGIN`,
		`GRANT USAGE ON SCHEMA tlsmail TO app_enqueueonly`,
		`GRANT SELECT ON tlsmail.schema_version TO app_enqueueonly`,
		`GRANT INSERT ON tlsmail.outbox TO app_enqueueonly`,
		`GRANT INSERT ON tlsmail.message TO app_enqueueonly`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	appURL := strings.Replace(url, "//tlsmail@", "//app_enqueueonly@", 1)
	m := newMailbox(t, nil, nil)
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "timeout 30\n", "timeout 30\nqueue_url "+appURL+"\n", 1))
	if err := os.WriteFile(m.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "postgres://app_enqueueonly@") {
		t.Fatalf("sendmail: want exit 0, the database's refusal and the queue's URL:\n%s", r)
	}
	// docs/deployment.md: these grants are enough for send --defer and
	// sendmail -odq (queued, nothing tried, exit 0); send --queue, like
	// plain sendmail, leaves its message queued for the workers and says
	// why (exit 75: queued, not delivered; docs/queue-postgres.md).
	for _, args := range [][]string{
		{"sendmail", "-C", m.cfg, "-odq", "-t", "-i"},
		baseSend(m.srv.SMTPAddr(), m.srv.CAFile(), "--defer", "--queue-url", appURL),
	} {
		if r := (proc{args: args, env: authEnv(), stdin: strings.NewReader(plainMessage)}).run(t); r.code != 0 {
			t.Errorf("%s with the application hosts' grants: want exit 0\n%s", args[0], r)
		}
	}
	r = proc{args: baseSend(m.srv.SMTPAddr(), m.srv.CAFile(), "--queue", "--queue-url", appURL), env: authEnv()}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "queued as") || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("send --queue with the application hosts' grants: want exit %d, queued, and the database's refusal\n%s", exitTempFail, r)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tlsmail.outbox`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d items queued (%v), want 4", n, err)
	}
	if ms, _ := m.srv.Messages(); len(ms) != 0 {
		t.Fatalf("the server got %d messages, want none: the workers deliver them", len(ms))
	}
}

// TestQueuePostgresFailNotRecorded: `queue run` says an item failed for
// good only once its move to the failed table is committed. The server
// refuses the message (550) and a trigger makes the move fail: the run
// exits 75 saying the move failed and that the item is tried again after
// its lease, and the item is still queued (before: exit 69, "1
// message(s) failed for good and were moved to ... failed", with the
// item still queued). send --queue, whose own delivery is refused, does
// not say the message was moved either (before: "the message was moved
// to ... failed"). Once the trigger is gone and the lease over, the next
// run moves the first and says so.
func TestQueuePostgresFailNotRecorded(t *testing.T) {
	url, conn := pgInitDB(t, "failnotrecorded")
	srv := startServer(t, func(c *server.Config) {
		c.RejectMail = func(string) *server.Reply {
			return &server.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "not from you"}
		}
	})
	deferSends(t, srv, url, 1)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON tlsmail.failed FOR EACH ROW EXECUTE FUNCTION public.refuse()`); err != nil {
		t.Fatal(err)
	}
	run := []string{"queue", "run", "--queue-url", url, "--queue-secrets", "env", "--lease", "3s"}
	r := cli{args: run, env: authEnv()}.run(t)
	t.Logf("first run:\n%s", r)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "cannot move it to the failed items") ||
		!strings.Contains(r.stderr, "tried again when its lease ends") || strings.Contains(r.stdout+r.stderr, "failed for good") {
		t.Fatalf("queue run with the move refused: want exit %d saying the move failed, no 'failed for good'\n%s", exitTempFail, r)
	}
	if r := runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "1 queued, 0 failed") {
		t.Fatalf("queue list --count after the refused move:\n%s", r)
	}
	if _, err := conn.Exec(ctx, `DROP TRIGGER refuse ON tlsmail.failed`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // the lease of the first run ends
	r = cli{args: run, env: authEnv()}.run(t)
	t.Logf("second run:\n%s", r)
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "1 message(s) failed for good") {
		t.Fatalf("queue run after the lease: want exit %d, the item failed for good\n%s", exitUnavailable, r)
	}
	if r := runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "0 queued, 1 failed") {
		t.Fatalf("queue list --count after the second run:\n%s", r)
	}
	if _, err := conn.Exec(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON tlsmail.failed FOR EACH ROW EXECUTE FUNCTION public.refuse()`); err != nil {
		t.Fatal(err)
	}
	// send --queue, whose own delivery is refused for good: the 550's
	// exit code, and no claim that the message was moved (before: "the
	// message was moved to ... failed").
	r = cli{args: append(baseSend(srv.SMTPAddr(), srv.CAFile()), "--queue", "--queue-url", url), env: authEnv()}.run(t)
	t.Logf("send --queue:\n%s", r)
	if r.code == 0 || r.code == exitTempFail || strings.Contains(r.stderr, "was moved to") || !strings.Contains(r.stderr, "could not be moved to the failed items") {
		t.Fatalf("send --queue refused for good with the move refused: want the 550's exit code, saying it stays queued\n%s", r)
	}
	if r := runTLSMail(t, "queue", "list", "--count", "--queue-url", url); !strings.HasPrefix(r.stdout, "1 queued, 1 failed") {
		t.Fatalf("queue list --count after send --queue:\n%s", r)
	}
}
