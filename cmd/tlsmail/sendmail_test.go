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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// These tests run the built binary as real processes (as `tlsmail
// sendmail`, through a symlink called sendmail, and Debian's msmtp) against
// the embedded server on loopback, with a real outbox directory.

// proc is one run of a binary with a given environment.
type proc struct {
	bin   string // default tlsmailBin
	args  []string
	env   []string
	stdin io.Reader
}

func (p proc) command(ctx context.Context, t *testing.T) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	bin := p.bin
	if bin == "" {
		bin = tlsmailBin
	}
	cmd := exec.CommandContext(ctx, bin, p.args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, p.env...)
	cmd.Stdin = p.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func (p proc) run(t *testing.T) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := p.command(ctx, t)
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running %s %q: %v", cmd.Path, p.args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish: %s", cmd.Path, p.args, r)
	}
	return r
}

// mailbox is an embedded server, an msmtp-format configuration file
// pointing at it and an outbox directory.
type mailbox struct {
	srv   *server.Server
	cfg   string // the configuration file (mode 0600)
	queue string // the outbox directory
}

// env is the environment for tlsmail: the outbox directory.
func (m *mailbox) env(extra ...string) []string {
	return append([]string{"TLSMAIL_QUEUE_DIR=" + m.queue}, extra...)
}

// newMailbox starts a server and writes a configuration whose default
// account reaches addr(srv) with STARTTLS, the server's CA and a password
// given as `password` in the file (so that the spool test can look for it).
func newMailbox(t *testing.T, modify func(*server.Config), addr func(*server.Server) string) *mailbox {
	t.Helper()
	srv := startServer(t, modify)
	if addr == nil {
		addr = (*server.Server).SMTPAddr
	}
	return &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, addr(srv)), queue: filepath.Join(t.TempDir(), "queue")}
}

// configWith writes a new configuration file: m's with extra (whole
// lines, each ending in "\n") after it, so they go to the default account
// (the file's last) unless they open another.
func (m *mailbox) configWith(t *testing.T, extra string) string {
	t.Helper()
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "msmtprc", append(base, extra...), 0o600)
}

func writeMsmtprc(t *testing.T, srv *server.Server, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`# written by the test: msmtp and tlsmail read it alike
defaults
tls on
tls_starttls on
tls_trust_file %s
timeout 30

account local
host %s
port %s
auth on
user %s
password %s
from ann@example.com

account default : local
`, srv.CAFile(), host, port, testUser, testPassword)
	return writeFile(t, "msmtprc", []byte(cfg), 0o600)
}

// queueJSON is `tlsmail queue list --json`.
type queueJSON struct {
	Dir    string            `json:"dir"`
	Queued []submit.ItemInfo `json:"queued"`
	Failed []submit.ItemInfo `json:"failed"`
}

// wantEmptyOutbox fails the test unless m's outbox holds nothing, queued
// or failed; what, when given, says after which step.
func (m *mailbox) wantEmptyOutbox(t *testing.T, what string) {
	t.Helper()
	if q := m.list(t); len(q.Queued)+len(q.Failed) != 0 {
		if what != "" {
			what += ": "
		}
		t.Errorf("%sthe outbox is not empty: %+v", what, q)
	}
}

func (m *mailbox) list(t *testing.T) queueJSON {
	t.Helper()
	r := proc{args: []string{"queue", "list", "--json"}, env: m.env()}.run(t)
	if r.code != 0 {
		t.Fatalf("queue list: %s", r)
	}
	var q queueJSON
	if err := json.Unmarshal([]byte(r.stdout), &q); err != nil {
		t.Fatalf("queue list --json: %v\n%s", err, r)
	}
	return q
}

const plainMessage = "From: Ann <ann@example.com>\nTo: Bob <bob@example.org>\nCc: carol@example.org\nBcc: secret-dave@example.net\nSubject: order 42\n\nThank you for your order.\n.\nThis line follows a lone dot.\n"

// TestSendmailDelivers pipes a message into `tlsmail sendmail -t -i` and,
// through a symbolic link called sendmail, into `sendmail -t` (where the
// lone dot is data too, as in msmtp), and checks what the server stored.
func TestSendmailDelivers(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(tlsmailBin, link); err != nil {
		t.Skipf("cannot make a symlink here: %v", err)
	}
	tests := []struct {
		name     string
		p        proc
		wantDot  bool // the text after the lone dot was kept
		wantFrom string
	}{
		{"tlsmail sendmail -t -i", proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}}, true, "ann@example.com"},
		{"symlink sendmail -t", proc{bin: link, args: []string{"-C", m.cfg, "-t"}}, true, "ann@example.com"},
		{"symlink sendmail -f -oi", proc{bin: link, args: []string{"-oi", "-fother@example.com", "-C", m.cfg, "-t"}}, true, "other@example.com"},
	}
	for i, tc := range tests {
		tc.p.env = m.env()
		tc.p.stdin = strings.NewReader(plainMessage)
		r := tc.p.run(t)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Fatalf("%s: want exit 0 and silence: %s", tc.name, r)
		}
		msg := waitMessages(t, m.srv, i+1)[i]
		data, err := msg.Data()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(msg.To, ","), "bob@example.org,carol@example.org,secret-dave@example.net"; got != want {
			t.Errorf("%s: recipients %s, want %s", tc.name, got, want)
		}
		if msg.From != tc.wantFrom {
			t.Errorf("%s: envelope sender %q, want %q", tc.name, msg.From, tc.wantFrom)
		}
		for _, h := range []string{"\r\nDate: ", "\r\nMessage-Id: <"} {
			if !bytes.Contains(data, []byte(h)) {
				t.Errorf("%s: %q was not added:\n%s", tc.name, h, data)
			}
		}
		if bytes.Contains(data, []byte("secret-dave")) {
			t.Errorf("%s: the Bcc field reached the server:\n%s", tc.name, data)
		}
		if got := bytes.Contains(data, []byte("follows a lone dot")); got != tc.wantDot {
			t.Errorf("%s: text after the lone dot kept = %v, want %v:\n%s", tc.name, got, tc.wantDot, data)
		}
	}
	if q := m.list(t); len(q.Queued) != 0 || len(q.Failed) != 0 {
		t.Errorf("the outbox is not empty after delivery: %+v", q)
	}
}

// TestSendmailFromName adds From with -F's display name when the message
// has none.
func TestSendmailFromName(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-FCron Daemon", "-i", "-B8BITMIME", "-oem", "-odi", "bob@example.org"},
		env: m.env(), stdin: strings.NewReader("Subject: cron output\n\nok\n")}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	data, err := waitMessages(t, m.srv, 1)[0].Data()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("From: \"Cron Daemon\" <ann@example.com>\r\n")) {
		t.Errorf("no From with the -F name:\n%s", data)
	}
}

// TestSendmailUsage checks the refusals that happen before anything is
// queued.
func TestSendmailUsage(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"-bs", []string{"sendmail", "-bs"}, nil, exitUsage, "-bs"},
		{"no recipients", []string{"sendmail", "-C", m.cfg, "-i"}, nil, exitUsage, "no recipients"},
		{"no configuration", []string{"sendmail", "-t"}, nil, exitConfig, "configuration"},
		{"unknown account", []string{"sendmail", "-C", m.cfg, "-a", "nope", "-t"}, nil, exitConfig, "nope"},
	}
	for _, tc := range tests {
		r := proc{args: tc.args, env: m.env(tc.env...), stdin: strings.NewReader(plainMessage)}.run(t)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d mentioning %q: %s", tc.name, tc.code, tc.want, r)
		}
	}
	if _, err := os.Stat(filepath.Join(m.queue, "msg")); err == nil {
		if q := m.list(t); len(q.Queued) != 0 {
			t.Errorf("a refused command queued something: %+v", q.Queued)
		}
	}
}

// TestSendmailTemporaryThenRetry: the server answers 451 to the first MAIL
// FROM; sendmail exits 0 with one line on stderr and the message stays
// queued with its error; `queue run` leaves it until it is due, `queue
// flush` delivers it, once.
func TestSendmailTemporaryThenRetry(t *testing.T) {
	t.Parallel()
	var refusals atomic.Int32
	m := newMailbox(t, func(c *server.Config) {
		c.RejectMail = func(string) *server.Reply {
			if refusals.Add(1) == 1 {
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "try again later"}
			}
			return nil
		}
	}, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "451") || !strings.Contains(r.stderr, "safe in the outbox") {
		t.Fatalf("want exit 0 and one line on stderr naming the 451: %s", r)
	}
	q := m.list(t)
	if len(q.Queued) != 1 || q.Queued[0].Attempts != 1 || !strings.Contains(q.Queued[0].LastError, "451") ||
		q.Queued[0].NextAttempt.IsZero() {
		t.Fatalf("the message is not queued with its attempt and error: %+v", q)
	}
	if got := storedCount(t, m.srv); got != 0 {
		t.Fatalf("the server stored %d message(s) after a 451", got)
	}

	// Not due yet: nothing to do, exit 0.
	r = proc{args: []string{"queue", "run"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "1 not due yet") {
		t.Fatalf("queue run before the retry time: %s", r)
	}
	r = proc{args: []string{"queue", "flush"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "delivered "+q.Queued[0].ID) {
		t.Fatalf("queue flush: %s", r)
	}
	if got := storedCount(t, m.srv); got != 1 {
		t.Errorf("the server stored %d messages, want 1", got)
	}
	if q := m.list(t); len(q.Queued) != 0 {
		t.Errorf("still queued after delivery: %+v", q.Queued)
	}
}

// storedCount returns how many messages the server has stored at the
// moment of the call; it does not wait (a caller that needs a message to
// arrive uses waitMessages).
func storedCount(t *testing.T, srv *server.Server) int {
	t.Helper()
	ms, err := srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// TestSendmailPermanentFailure: 554 to the end of DATA makes sendmail exit
// 65 and moves the message to failed/ with the reason.
func TestSendmailPermanentFailure(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, func(c *server.Config) {
		c.RejectData = func(server.Envelope) *server.Reply {
			return &server.Reply{Code: 554, Enhanced: [3]int{5, 7, 1}, Text: "message refused by policy"}
		}
	}, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != exitRejected || !strings.Contains(r.stderr, "554") || !strings.Contains(r.stderr, "failed") {
		t.Fatalf("want exit 65 naming the 554 and failed/: %s", r)
	}
	q := m.list(t)
	if len(q.Queued) != 0 || len(q.Failed) != 1 || !strings.Contains(q.Failed[0].Reason, "554") {
		t.Fatalf("want the message in failed/ with the 554: %+v", q)
	}
	if _, err := os.Stat(filepath.Join(m.queue, "failed", q.Failed[0].ID+".msg")); err != nil {
		t.Error(err)
	}
	r = proc{args: []string{"queue", "list", "--failed"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, q.Failed[0].ID) || !strings.Contains(r.stdout, "554") {
		t.Errorf("queue list --failed: %s", r)
	}
}

// stallProxy forwards TCP connections to target. The first connection
// after stall is armed forwards only stallAfter bytes from the client and
// then stops reading (a server that hangs in the middle of DATA).
type stallProxy struct {
	ln         net.Listener
	target     string
	stallAfter atomic.Int64
	conns      atomic.Int64 // connections accepted
	stalled    chan struct{}
	done       chan struct{}
	wg         sync.WaitGroup
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, stalled: make(chan struct{}), done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.handle(c, p.stallAfter.Swap(0))
			}()
		}
	}()
	t.Cleanup(func() {
		close(p.done)
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *stallProxy) handle(c net.Conn, limit int64) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		io.Copy(c, up)
		c.Close()
	}()
	if limit <= 0 {
		io.Copy(up, c)
		return
	}
	io.CopyN(up, c, limit)
	close(p.stalled)
	<-p.done // hang: read nothing more until the test ends
}

// TestSendmailKilledMidData kills a sendmail (SIGKILL) while the server
// hangs in the middle of DATA; `queue run` then delivers exactly one copy.
func TestSendmailKilledMidData(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL semantics are tested on Unix")
	}
	t.Parallel()
	srv := startServer(t, nil)
	proxy := newStallProxy(t, srv.SMTPAddr())
	m := &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, proxy.ln.Addr().String()), queue: filepath.Join(t.TempDir(), "queue")}

	// 2 MiB of body: the proxy stops after 256 KiB, well inside DATA (the
	// greeting, TLS handshake and AUTH take a few KiB).
	var msg bytes.Buffer
	msg.WriteString("From: ann@example.com\nTo: bob@example.org\nSubject: big\n\n")
	for msg.Len() < 2<<20 {
		msg.WriteString("0123456789 the quick brown fox jumps over the lazy dog 0123456789\n")
	}
	proxy.stallAfter.Store(256 << 10)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, env: m.env(),
		stdin: bytes.NewReader(msg.Bytes())}.command(ctx, t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proxy.stalled:
	case <-ctx.Done():
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the transfer never reached the stall point:\n%s\n%s", stdout, stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sendmail was not killed by SIGKILL: %v\n%s\n%s", err, stdout, stderr)
	}
	if n := storedCount(t, srv); n != 0 {
		t.Fatalf("the server stored %d message(s) from a transfer cut in DATA", n)
	}
	q := m.list(t)
	if len(q.Queued) != 1 {
		t.Fatalf("after the kill, want 1 queued message, got %+v", q)
	}

	r := proc{args: []string{"queue", "run"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "1 delivered") {
		t.Fatalf("queue run after the kill: %s", r)
	}
	r = proc{args: []string{"queue", "run"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "0 delivered, 0 deferred, 0 failed") {
		t.Fatalf("second queue run: %s", r)
	}
	ms := waitMessages(t, srv, 1)
	if len(ms) != 1 {
		t.Fatalf("the server stored %d copies, want exactly 1", len(ms))
	}
	data, err := ms[0].Data()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) < int64(msg.Len()) {
		t.Errorf("the stored message has %d bytes, the input %d", len(data), msg.Len())
	}
}

// TestQueueConcurrentRuns queues messages with -odq and delivers them with
// two `queue run`s at once: every message arrives exactly once.
func TestQueueConcurrentRuns(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	const n = 12
	for i := range n {
		r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-i", fmt.Sprintf("rcpt%d@example.org", i)}, env: m.env(),
			stdin: strings.NewReader(fmt.Sprintf("Subject: message %d\n\nbody %d\n", i, i))}.run(t)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("sendmail -odq: %s", r)
		}
	}
	if got := storedCount(t, m.srv); got != 0 {
		t.Fatalf("-odq delivered %d messages; it must only queue", got)
	}
	if q := m.list(t); len(q.Queued) != n {
		t.Fatalf("%d queued, want %d", len(q.Queued), n)
	}
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = proc{args: []string{"queue", "run", "--parallel", "3"}, env: m.env()}.run(t)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("queue run: %s", r)
		}
	}
	ms, err := m.srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, msg := range ms {
		seen[strings.Join(msg.To, ",")]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("rcpt%d@example.org", i)]; c != 1 {
			t.Errorf("message %d arrived %d times", i, c)
		}
	}
	if len(ms) != n {
		t.Errorf("the server stored %d messages, want %d", len(ms), n)
	}
}

// TestQueueCorruptFile puts a damaged spool file next to a good message:
// `queue run` moves it to corrupt/ with a warning and delivers the other.
func TestQueueCorruptFile(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	good := m.list(t).Queued[0].ID
	// A valid ID (base32hex of 16 bytes) whose file is truncated garbage.
	bad := "0" + good[1:]
	if bad == good {
		bad = "1" + good[1:]
	}
	if err := os.WriteFile(filepath.Join(m.queue, "msg", bad+".msg"), []byte("tlsmail-outbox 1\n{\"id\":\"trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = proc{args: []string{"queue", "list"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, good) {
		t.Errorf("queue list with a corrupt file: %s", r)
	}
	r = proc{args: []string{"queue", "run"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "corrupt") || !strings.Contains(r.stdout, "1 delivered") {
		t.Fatalf("queue run with a corrupt file: %s", r)
	}
	if _, err := os.Stat(filepath.Join(m.queue, "corrupt", bad+".msg")); err != nil {
		t.Errorf("the corrupt file was not moved aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.queue, "msg", bad+".msg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupt file is still queued: %v", err)
	}
	if got := storedCount(t, m.srv); got != 1 {
		t.Errorf("%d delivered, want 1", got)
	}
}

// TestMsmtpAndSendmailShareConfig uses one msmtp configuration with
// Debian's msmtp and with `tlsmail sendmail -C`: both deliver into the
// embedded server.
func TestMsmtpAndSendmailShareConfig(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	for i, p := range []proc{
		{bin: msmtp, args: []string{"-C", m.cfg, "-t"}},
		{args: []string{"sendmail", "-C", m.cfg, "-t"}},
	} {
		p.env = m.env()
		p.stdin = strings.NewReader(fmt.Sprintf("To: bob@example.org\nSubject: shared config %d\n\nsame file\n", i))
		if r := p.run(t); r.code != 0 {
			t.Fatalf("%s: %s", p.args, r)
		}
		msg := waitMessages(t, m.srv, i+1)[i]
		data, err := msg.Data()
		if err != nil {
			t.Fatal(err)
		}
		if msg.AuthUser != testUser || msg.TLS == nil || !msg.TLS.STARTTLS ||
			!bytes.Contains(data, []byte(fmt.Sprintf("Subject: shared config %d", i))) {
			t.Errorf("%s: stored %+v\n%s", p.args, msg.Envelope, data)
		}
	}
}

// TestNoPasswordInSpool queues messages for a server that is down, with
// the password in the configuration file and in an environment variable:
// no spool file holds it. `send --queue` exits 75, `send --defer` 0.
func TestNoPasswordInSpool(t *testing.T) {
	t.Parallel()
	down := newCountingListener(t)
	down.ln.Close() // nothing listens: connection refused
	srv := startServer(t, nil)
	m := &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, down.addr()), queue: filepath.Join(t.TempDir(), "queue")}

	r := proc{args: []string{"sendmail", "-C", m.cfg, "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "safe in the outbox") {
		t.Fatalf("sendmail to a server that is down: %s", r)
	}
	send := baseSend(down.addr(), srv.CAFile(), "--queue-dir", m.queue)
	r = proc{args: append(send, "--queue"), env: authEnv()}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "safe in the outbox") {
		t.Fatalf("send --queue to a server that is down: want 75: %s", r)
	}
	r = proc{args: append(send, "--defer", "--json"), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatalf("send --defer: %s", r)
	}
	if j := decodeJSON(t, r); j["ok"] != true || j["queued"] != true || j["queue_id"] == "" {
		t.Errorf("send --defer --json: %v", j)
	}
	q := m.list(t)
	if len(q.Queued) != 3 {
		t.Fatalf("want 3 queued messages: %+v", q)
	}
	filepath.WalkDir(m.queue, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(testPassword)) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})

	// Now the server is reachable: the secrets are read again, from the
	// file and from the environment of the runner.
	// The queued settings point at the dead address: serve on it.
	ln, err := net.Listen("tcp", down.addr())
	if err != nil {
		t.Skipf("cannot listen on the freed port again: %v", err)
	}
	proxyTo(t, ln, srv.SMTPAddr())
	r = proc{args: []string{"queue", "flush"}, env: m.env(authEnv()...)}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "3 delivered") {
		t.Fatalf("queue flush with the server back: %s", r)
	}
	for _, msg := range waitMessages(t, srv, 3) {
		if msg.AuthUser != testUser {
			t.Errorf("message delivered without AUTH: %+v", msg.Envelope)
		}
	}
}

// proxyTo forwards the connections ln accepts to target.
func proxyTo(t *testing.T, ln net.Listener, target string) {
	t.Helper()
	p := &stallProxy{ln: ln, target: target, stalled: make(chan struct{}), done: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c, 0)
		}
	}()
	t.Cleanup(func() { ln.Close() })
}

// TestQueueRemoveAndWatch removes a queued message by ID, then lets `queue
// run --watch` deliver a message queued while it runs, and stops it with
// SIGTERM (exit 0).
func TestQueueRemoveAndWatch(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM")
	}
	t.Parallel()
	m := newMailbox(t, nil, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	id := m.list(t).Queued[0].ID
	if r := (proc{args: []string{"queue", "remove", id}, env: m.env()}).run(t); r.code != 0 {
		t.Fatalf("queue remove: %s", r)
	}
	if r := (proc{args: []string{"queue", "remove", id}, env: m.env()}).run(t); r.code != exitNoInput {
		t.Fatalf("removing it again: want 66 (as queue show): %s", r)
	}
	if q := m.list(t); len(q.Queued) != 0 {
		t.Fatalf("still queued: %+v", q)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := proc{args: []string{"queue", "run", "--watch", "--interval", "1s"}, env: m.env()}.command(ctx, t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r = proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-t", "-i"}, env: m.env(), stdin: strings.NewReader(plainMessage)}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	waitMessages(t, m.srv, 1)
	// The server stores the message before its 250 reaches the runner:
	// wait until the runner has removed the item, then stop it.
	for len(m.list(t).Queued) != 0 {
		if ctx.Err() != nil {
			t.Fatal("the watcher never removed the delivered item")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("queue run --watch after SIGTERM: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout.String(), "delivered ") {
		t.Errorf("--watch did not report the delivery:\n%s", stdout)
	}
}

// TestQueueRunOneConnectionPerBatch queues four messages for one account,
// one of them for a recipient the server refuses (550): `queue run` sends
// them all over one connection (RSET after the refused one), delivers three,
// moves the refused one to failed/ and exits 69.
func TestQueueRunOneConnectionPerBatch(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		}
		// A refusal at the end of the data must be the outcome of that
		// message, not of the next one (whose envelope shares its flight).
		c.RejectData = func(env server.Envelope) *server.Reply {
			if env.To[0] == "later@example.org" {
				return &server.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "try later"}
			}
			return nil
		}
	})
	proxy := newStallProxy(t, srv.SMTPAddr())
	m := &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, proxy.ln.Addr().String()), queue: filepath.Join(t.TempDir(), "queue")}
	for _, rcpt := range []string{"a@example.org", "nobody@example.org", "b@example.org", "later@example.org", "c@example.org"} {
		r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-i", rcpt}, env: m.env(),
			stdin: strings.NewReader("Subject: batch\n\nfor " + rcpt + "\n")}.run(t)
		if r.code != 0 {
			t.Fatal(r)
		}
	}
	r := proc{args: []string{"queue", "run", "--json", "--transcript", "-"}, env: m.env()}.run(t)
	if r.code != exitUnavailable {
		t.Fatalf("want exit 69 (one message failed for good): %s", r)
	}
	var out struct {
		Stats struct{ Delivered, Failed, Deferred int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if out.Stats.Delivered != 3 || out.Stats.Failed != 1 || out.Stats.Deferred != 1 {
		t.Errorf("stats %+v, want 3 delivered, 1 failed and 1 deferred", out.Stats)
	}
	if n := proxy.conns.Load(); n != 1 {
		t.Errorf("%d connections for one batch, want 1", n)
	}
	if n := strings.Count(r.stderr, "bytes: MAIL FROM:"); n != 5 {
		t.Errorf("%d transactions on the connection, want 5:\n%s", n, r.stderr)
	}
	// RSET only after the refused transaction: one that ends with the
	// reply to the data needs none (RFC 5321 section 4.1.1.4).
	if n := strings.Count(r.stderr, "bytes: RSET\n"); n != 1 {
		t.Errorf("%d RSET commands between 5 transactions, want 1:\n%s", n, r.stderr)
	}
	if got := len(waitMessages(t, srv, 3)); got != 3 {
		t.Errorf("%d messages stored, want 3", got)
	}
	q := m.list(t)
	if len(q.Queued) != 1 || q.Queued[0].Recipients[0] != "later@example.org" || len(q.Failed) != 1 || q.Failed[0].Recipients[0] != "nobody@example.org" ||
		!strings.Contains(q.Failed[0].Reason, "550") {
		t.Errorf("want the refused message in failed/ and the deferred one queued: %+v", q)
	}
}

// TestSendQueueDelivers: `send --queue --json` spools, delivers at once and
// reports send's object plus the queue ID; the outbox is empty afterwards.
func TestSendQueueDelivers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	qdir := filepath.Join(t.TempDir(), "queue")
	r := proc{args: baseSend(srv.SMTPAddr(), srv.CAFile(), "--queue", "--queue-dir", qdir, "--json"), env: authEnv()}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	j := decodeJSON(t, r)
	if j["ok"] != true || j["queued"] != false || j["queue_id"] == "" || !strings.HasPrefix(fmt.Sprint(j["response"]), "250 ") {
		t.Errorf("send --queue --json: %v", j)
	}
	waitMessages(t, srv, 1)
	entries, err := os.ReadDir(filepath.Join(qdir, "msg"))
	if err != nil || len(entries) != 0 {
		t.Errorf("the outbox still holds %d file(s) (%v)", len(entries), err)
	}
}
