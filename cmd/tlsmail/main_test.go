package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/server"
)

// tlsmailBin is the binary built once by TestMain; the tests run it as a
// real process, as users do.
var tlsmailBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tlsmail-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tlsmailBin = filepath.Join(dir, "tlsmail")
	if runtime.GOOS == "windows" {
		tlsmailBin += ".exe" // os/exec runs no file without an extension there
	}
	build := exec.Command("go", "build", "-o", tlsmailBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tlsmail:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	pg.Stop() // the PostgreSQL cluster, if a test started one
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli describes one run of the binary.
type cli struct {
	args  []string
	env   []string // added to a minimal environment
	stdin io.Reader
}

// run runs the binary and waits for it (bounded, so a hung process fails
// the test instead of the whole run).
func (c cli) run(t *testing.T) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tlsmailBin, c.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, c.env...)
	cmd.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running tlsmail %q: %v", c.args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("tlsmail %q did not finish: %s", c.args, r)
	}
	return r
}

func runTLSMail(t *testing.T, args ...string) result {
	t.Helper()
	return cli{args: args}.run(t)
}

// Test users of the embedded server.
const (
	testUser     = "ann"
	testPassword = "correct-horse-battery-staple-7f3a"
	passwordVar  = "TEST_SMTP_PASSWORD"
)

// startServer runs the embedded server in-process on loopback ports, with
// a throwaway CA and the test user. modify may change the Config.
func startServer(t *testing.T, modify func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		SMTPAddr:  "127.0.0.1:0",
		SMTPSAddr: "127.0.0.1:0",
		Dir:       t.TempDir(),
		Users:     map[string]string{testUser: testPassword},
	}
	if modify != nil {
		modify(&cfg)
	}
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("server.Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// waitMessages waits until srv has stored n messages.
func waitMessages(t *testing.T, srv *server.Server, n int) []server.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ms, err := srv.Wait(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d message(s): %v", n, err)
	}
	return ms
}

// baseSend is a complete send command line against addr, trusting caFile
// and authenticating as the test user (the password from passwordVar).
func baseSend(addr, caFile string, extra ...string) []string {
	args := []string{"send", "--server", addr, "--ca", caFile,
		"--user", testUser, "--password-env", passwordVar,
		"--from", "ann@example.com", "--to", "bob@example.org",
		"--subject", "test message", "--body", "Hello Bob.\n", "--timeout", "30s"}
	return append(args, extra...)
}

func authEnv() []string { return []string{passwordVar + "=" + testPassword} }

// decodeJSON parses the single JSON object on stdout, failing when there
// is anything else.
func decodeJSON(t *testing.T, r result) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", r)
	}
	return m
}

// countingListener accepts connections on loopback and records them, to
// prove that a command made none.
type countingListener struct {
	ln net.Listener
	// accepted receives the remote address of each connection, in accept
	// order.
	accepted chan string
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{ln: ln, accepted: make(chan string, 1024)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			cl.accepted <- c.RemoteAddr().String()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return cl
}

// strays connects to the listener itself and returns how many connections
// were accepted before that one. The kernel queues connections in the
// order they were made, so these are all the connections made before the
// call (with no fixed wait that a slow machine could outrun).
func (cl *countingListener) strays(t *testing.T) int {
	t.Helper()
	c, err := net.Dial("tcp", cl.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().String()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for n := 0; ; n++ {
		select {
		case a := <-cl.accepted:
			if a == me {
				return n
			}
		case <-timeout.C:
			t.Fatalf("the listener never accepted the test's own connection (%d others seen)", n)
		}
	}
}

func (cl *countingListener) addr() string { return cl.ln.Addr().String() }

// writeFile writes a file in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return p
}

// TestSendmailInterruptedSaysQueued: SIGINT or SIGTERM to a sendmail whose
// delivery hangs ends it in order: the message stays in the outbox, the
// command says so and exits 0 (the message is safely queued), rather than
// dying of the signal with nothing said, which a caller takes for a failed
// submission and may retry, sending the message twice.
func TestSendmailInterruptedSaysQueued(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals are tested on Unix")
	}
	for _, tc := range []struct {
		name string
		args func(m *mailbox) []string
		code int    // exit code wanted
		say  string // on stderr
	}{
		// sendmail: queued is accepted, as MTAs' callers expect.
		{"sendmail", func(m *mailbox) []string { return []string{"sendmail", "-C", m.cfg, "-t", "-i"} }, 0, "queued as"},
		// send --queue: a temporary failure, the message waits.
		{"send --queue", func(m *mailbox) []string {
			return []string{"send", "--config", m.cfg, "--queue", "--message", "-"}
		}, exitTempFail, "safe in the outbox"},
	} {
		for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				srv := startServer(t, nil)
				proxy := newStallProxy(t, srv.SMTPAddr())
				proxy.stallAfter.Store(1) // the server never hears a whole EHLO
				m := &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, proxy.ln.Addr().String()), queue: filepath.Join(t.TempDir(), "queue")}

				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd, stdout, stderr := proc{args: tc.args(m), env: m.env(),
					stdin: strings.NewReader("From: ann@example.com\nTo: bob@example.org\nSubject: hi\n\nbody\n")}.command(ctx, t)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-proxy.stalled:
				case <-ctx.Done():
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("%s never connected:\n%s\n%s", tc.name, stdout, stderr)
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				cmd.Wait()
				if ctx.Err() != nil {
					t.Fatalf("%s did not end after %v", tc.name, sig)
				}
				if got := cmd.ProcessState.ExitCode(); got != tc.code {
					t.Fatalf("%s after %v: exit %d (%v), want %d\n%s\n%s", tc.name, sig, got, cmd.ProcessState, tc.code, stdout, stderr)
				}
				if !strings.Contains(stderr.String(), tc.say) {
					t.Errorf("%s after %v did not say %q:\n%s", tc.name, sig, tc.say, stderr)
				}
				if q := m.list(t); len(q.Queued) != 1 {
					t.Errorf("want the message in the outbox, got %+v", q)
				}
			})
		}
	}
}

// Only the named command is built when the command line starts with one;
// everything else must still see the whole tree: help with no arguments,
// shell completion of the command name, and the suggestion for a typo.
func TestWholeTreeWithoutACommandName(t *testing.T) {
	all := []string{"send", "serve", "demo", "version", "probe", "cert", "sendmail", "queue"}
	tests := []struct {
		args []string
		want []string // in stdout or stderr
	}{
		{nil, all},
		{[]string{"__complete", ""}, all},
		{[]string{"__complete", "se"}, []string{"send", "serve", "sendmail"}},
		{[]string{"sned"}, []string{`unknown command "sned" for "tlsmail"; did you mean "send"?`}},
		{[]string{"completion", "bash"}, []string{"__start_tlsmail"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runTLSMail(t, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("tlsmail %q does not show %q:\n%s", tt.args, w, r)
				}
			}
		})
	}
}
