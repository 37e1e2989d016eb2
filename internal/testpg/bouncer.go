package testpg

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testport"
)

// Bouncer configures a private PgBouncer (Debian package pgbouncer) in
// front of a Cluster.
type Bouncer struct {
	// PoolMode is PgBouncer's pool_mode: "session", "transaction" or
	// "statement".
	PoolMode string
	// PoolSize is default_pool_size, the server connections per database
	// and user; 0 means 2, few enough that clients share backends, which
	// is what a pooler's tests are about.
	PoolSize int
}

// Bouncer starts a private PgBouncer in front of the cluster, with b's
// pool mode, and returns url (a URL of this cluster, such as URL's or one
// naming another database of it) rewritten to go through it. Every
// database of the cluster is served (PgBouncer's "*" entry), user tlsmail
// with trust authentication (the auth file lists it). PgBouncer runs in
// the foreground as a child of the test, as nobody when this is root (it
// refuses root, as postgres does), from a temporary directory holding its
// configuration, auth file and log; it is stopped by its PID when the
// test ends. Without pgbouncer the test is skipped, or fails under the
// README's test command (testpeer.Need).
func (c *Cluster) Bouncer(tb testing.TB, url string, b Bouncer) string {
	tb.Helper()
	c.URL(tb)
	prog := testpeer.Need(tb, "pgbouncer", "pgbouncer")
	if b.PoolSize == 0 {
		b.PoolSize = 2
	}
	pgHost, pgPort, db, err := splitURL(url)
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	dir, err := os.MkdirTemp("", "tlsmail-pgbouncer-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	port, err := testport.Free()
	if err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
default_pool_size = %d
max_client_conn = 500
pidfile = %s
logfile = %s
server_login_retry = 1
`, pgHost, pgPort, port, filepath.Join(dir, "userlist.txt"), b.PoolMode, b.PoolSize,
		filepath.Join(dir, "pgbouncer.pid"), filepath.Join(dir, "log"))
	for name, text := range map[string]string{"pgbouncer.ini": conf, "userlist.txt": `"tlsmail" ""` + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	cmd, err := asNobody(dir, prog, filepath.Join(dir, "pgbouncer.ini"))
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpg: starting pgbouncer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		// setpriv execs pgbouncer: the child is pgbouncer.
		cmd.Process.Signal(syscall.SIGTERM) // PgBouncer 1.18: immediate shutdown (SIGINT waits for clients)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			tb.Fatalf("testpg: pgbouncer exited at start (%v): %s\n%s", err, out.String(), log)
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testpg: pgbouncer did not listen on %s within 10 s: %s", addr, out.String())
		}
	}
	return fmt.Sprintf("postgres://tlsmail@%s/%s?sslmode=disable", addr, db)
}

// splitURL reads the host, port and database of one of the cluster's URLs.
func splitURL(s string) (host, port, db string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", "", err
	}
	host, port, err = net.SplitHostPort(u.Host)
	if err != nil {
		return "", "", "", err
	}
	db = strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", "", "", errors.New("the URL names no database: " + s)
	}
	return host, port, db, nil
}
