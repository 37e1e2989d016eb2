// Package testpg runs a private PostgreSQL cluster for tests: initdb in a
// temporary directory, postgres started with pg_ctl on a free loopback port
// (its socket in the same directory), stopped by its PID when the package's
// tests end. Nothing of the system's own PostgreSQL is used but the
// programs (Debian package postgresql: /usr/lib/postgresql/*/bin).
//
// Run as root, initdb and postgres (which refuse root) run as the user
// nobody through setpriv, in a directory given to that user.
//
// A package uses one cluster for all its tests:
//
//	var pg testpg.Cluster
//
//	func TestMain(m *testing.M) { code := m.Run(); pg.Stop(); os.Exit(code) }
//
//	func TestX(t *testing.T) { url := pg.URL(t) ... }
package testpg

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testport"
)

// Cluster is a lazily started private cluster; the zero value is ready.
type Cluster struct {
	once sync.Once
	url  string
	dir  string
	bin  string
	err  error
	opts string // postgres's options (pg_ctl -o)
	// missing: the programs are not installed (a skip, or a failure under
	// the README's test command), not a failure to start them.
	missing bool
}

// Bin returns the directory of PostgreSQL's server programs: the newest
// /usr/lib/postgresql/*/bin, else the directory of pg_ctl in PATH.
func Bin() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, true
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), true
	}
	return "", false
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// URL returns the connection URL of the cluster (database postgres, user
// tlsmail, trust authentication on loopback), starting it on first use.
// Without PostgreSQL the test is skipped, or fails under the README's test
// command (testpeer.Missing).
//
// On Windows the tests are skipped: the queue's code is the same Go on
// every system, and the private cluster is a Unix setup (the Wine and
// Windows jobs run ./outbox/... and cmd/tlsmail with no PostgreSQL).
func (c *Cluster) URL(tb testing.TB) string {
	tb.Helper()
	if runtime.GOOS == "windows" {
		tb.Skip("PostgreSQL queue tests run on Unix (internal/testpg)")
	}
	c.once.Do(c.start)
	if c.missing {
		testpeer.Missing(tb, c.err.Error())
	}
	if c.err != nil {
		tb.Fatalf("testpg: %v", c.err)
	}
	return c.url
}

// Dir is the cluster's data directory (its log is Dir()/log).
func (c *Cluster) Dir() string { return c.dir }

func (c *Cluster) start() {
	bin, ok := Bin()
	if !ok {
		c.missing = true
		c.err = errors.New("PostgreSQL server programs (pg_ctl, initdb) not found (Debian package postgresql: apt-get install -y postgresql)")
		return
	}
	c.bin = bin
	dir, err := os.MkdirTemp("", "tlsmail-pg-")
	if err != nil {
		c.err = err
		return
	}
	c.dir = dir
	data := filepath.Join(dir, "data")
	if err := c.run("initdb", "-D", data, "-U", "tlsmail", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		c.err = err
		return
	}
	port, err := freePort()
	if err != nil {
		c.err = err
		return
	}
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60", port, dir)
	if err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", c.opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.err = fmt.Errorf("%v\n%s", err, log)
		return
	}
	c.url = fmt.Sprintf("postgres://tlsmail@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// Restart stops the server (fast shutdown: connections are cut) and starts
// it again on the same port, for tests of reconnection.
func (c *Cluster) Restart(tb testing.TB) {
	tb.Helper()
	c.URL(tb)
	if err := c.run("pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", filepath.Join(c.dir, "data"),
		"-l", filepath.Join(c.dir, "log"), "-o", c.opts); err != nil {
		tb.Fatalf("testpg: %v", err)
	}
}

// Down stops the server (fast shutdown: connections are cut) and leaves
// it stopped, its port closed, until Up: for tests of a database that is
// unreachable.
func (c *Cluster) Down(tb testing.TB) {
	tb.Helper()
	c.URL(tb)
	if err := c.run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", filepath.Join(c.dir, "data")); err != nil {
		tb.Fatalf("testpg: %v", err)
	}
}

// Up starts the server again after Down, on the same port.
func (c *Cluster) Up(tb testing.TB) {
	tb.Helper()
	if err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", filepath.Join(c.dir, "data"),
		"-l", filepath.Join(c.dir, "log"), "-o", c.opts); err != nil {
		tb.Fatalf("testpg: %v", err)
	}
}

// run runs one of the server programs, as nobody when this is root.
func (c *Cluster) run(prog string, args ...string) error {
	cmd, err := asNobody(c.dir, filepath.Join(c.bin, prog), args...)
	if err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return nil
}

// asNobody is a command that runs path with args in dir: as it is, or,
// when this is root, as the user nobody through setpriv (postgres and
// pgbouncer refuse root), dir and what it holds then given to that user.
// setpriv execs path: the command's process is path's.
func asNobody(dir, path string, args ...string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		if err := chownAll(dir, 65534, 65534); err != nil {
			return nil, err
		}
		sp, err := exec.LookPath("setpriv")
		if err != nil {
			return nil, fmt.Errorf("running as root and setpriv (util-linux) is missing: cannot run %s as nobody", filepath.Base(path))
		}
		cmd = exec.Command(sp, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = dir
	return cmd, nil
}

func chownAll(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// freePort is a port for the cluster, below the ephemeral range that
// the run's other listeners draw from (see internal/testport).
func freePort() (int, error) { return testport.Free() }

// Stop stops the cluster, if it was started, by the PID in its
// postmaster.pid (a fast shutdown, then SIGKILL after 30 seconds), and
// removes its directory.
func (c *Cluster) Stop() {
	if c.dir == "" {
		return
	}
	defer os.RemoveAll(c.dir)
	b, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 1 {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	p.Signal(os.Interrupt) // fast shutdown
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if p.Signal(syscall.Signal(0)) != nil {
			return
		}
	}
	p.Kill()
}
