package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// serveProc is a running `tlsmail serve`.
type serveProc struct {
	cmd       *exec.Cmd
	smtp      string // the STARTTLS listener
	smtps     string // the implicit-TLS listener
	caFile    string
	dir       string
	sendLines []string // the printed `tlsmail send` lines
	stdout    *testbuf.Buffer
	stderr    *testbuf.Buffer
	done      chan error
}

// startServe starts `tlsmail serve` on free loopback ports with AUTH for
// the test user and waits until it has printed how to reach it.
func startServe(t *testing.T) *serveProc {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(tlsmailBin, "serve", "--smtp", "127.0.0.1:0", "--smtps", "127.0.0.1:0",
		"--dir", dir, "--user", testUser, "--password-env", passwordVar)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), passwordVar + "=" + testPassword}
	p := &serveProc{cmd: cmd, dir: dir, stdout: &testbuf.Buffer{}, stderr: &testbuf.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every line goes into p.stdout before it is offered on lines (which
	// the start-up parsing reads), and all of them before done.
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	field := regexp.MustCompile(`^\s+([^:]+):\s+(\S+)`)
	timeout := time.After(time.Minute)
	for len(p.sendLines) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited early:\n%s\n%s", p.stdout, p.stderr)
			}
			if strings.HasPrefix(strings.TrimSpace(l), "tlsmail send ") {
				p.sendLines = append(p.sendLines, strings.TrimSpace(l))
				continue
			}
			if m := field.FindStringSubmatch(l); m != nil {
				switch m[1] {
				case "SMTP with STARTTLS":
					p.smtp = m[2]
				case "implicit TLS (SMTPS)":
					p.smtps = m[2]
				case "CA certificate":
					p.caFile = m[2]
				}
			}
		case <-timeout:
			t.Fatalf("serve printed no send lines:\n%s\n%s", p.stdout, p.stderr)
		}
	}
	if p.smtp == "" || p.smtps == "" || p.caFile == "" {
		t.Fatalf("could not parse serve's output:\n%s", p.stdout)
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("serve did not stop after SIGTERM")
	}
}

// messages reads the stored messages: .eml contents with their envelope
// JSON, oldest first.
func (p *serveProc) messages(t *testing.T, want int) []storedMessage {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		envs, _ := filepath.Glob(filepath.Join(p.dir, "messages", "*.json"))
		if len(envs) >= want || time.Now().After(deadline) {
			sort.Strings(envs)
			var out []storedMessage
			for _, e := range envs {
				var m storedMessage
				js, err := os.ReadFile(e)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(js, &m); err != nil {
					t.Fatal(err)
				}
				if m.Data, err = os.ReadFile(strings.TrimSuffix(e, ".json") + ".eml"); err != nil {
					t.Fatal(err)
				}
				out = append(out, m)
			}
			if len(out) < want {
				t.Fatalf("%d message(s) stored, want %d\nserve stderr:\n%s", len(out), want, p.stderr)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type storedMessage struct {
	From     string   `json:"from"`
	To       []string `json:"to"`
	AuthUser string   `json:"auth_user"`
	TLS      *struct {
		Version  string `json:"version"`
		STARTTLS bool   `json:"starttls"`
	} `json:"tls"`
	Data []byte `json:"-"`
}

// TestServe runs `tlsmail serve`, sends with the exact command lines it
// prints (through sh, as a user would paste them), and stops it with
// SIGTERM.
func TestServe(t *testing.T) {
	t.Parallel()
	p := startServe(t)
	binDir := filepath.Dir(tlsmailBin)
	for _, line := range p.sendLines {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Env = []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), passwordVar + "=" + testPassword}
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("the printed line %q failed: %v\n%s", line, err, out)
		}
	}
	ms := p.messages(t, 2)
	for i, m := range ms {
		if m.AuthUser != testUser || m.TLS == nil || m.TLS.STARTTLS != (i == 0) {
			t.Errorf("message %d: auth %q, tls %+v", i, m.AuthUser, m.TLS)
		}
	}
	p.stop(t)
	if !strings.Contains(p.stdout.String(), "tlsmail serve: stopped") {
		t.Errorf("serve did not report stopping:\n%s\n%s", p.stdout, p.stderr)
	}
	if strings.Contains(p.stdout.String()+p.stderr.String(), testPassword) {
		t.Errorf("serve printed the password it was given")
	}
}

// TestThirdPartyClientsIntoServe sends into `tlsmail serve` with Debian's
// swaks (Perl, OpenSSL) and msmtp (GnuTLS), both verifying the server's
// certificate against ca.pem, over STARTTLS and implicit TLS with AUTH.
// msmtp's delivery is checked byte for byte.
func TestThirdPartyClientsIntoServe(t *testing.T) {
	t.Parallel()
	p := startServe(t)
	host, smtpPort := splitAddr(t, p.smtp)
	_, smtpsPort := splitAddr(t, p.smtps)
	msg := []byte("From: Ann <ann@example.com>\r\n" +
		"To: bob@example.org\r\n" +
		"Subject: third party\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <third-party-1@example.com>\r\n" +
		"\r\n" +
		"Sent by a client that is not tlsmail.\r\n" +
		".leading dot\r\n")

	type run struct {
		name     string
		bin      string
		args     []string
		stdin    []byte
		starttls bool
		exact    bool
	}
	var runs []run
	for _, starttls := range []bool{true, false} {
		port, tlsArg, msmtpTLS := smtpPort, "--tls", "on"
		if !starttls {
			port, tlsArg, msmtpTLS = smtpsPort, "--tls-on-connect", "off"
		}
		runs = append(runs,
			run{"swaks " + tlsArg, "swaks", []string{"--server", host, "--port", port, tlsArg,
				"--tls-verify", "--tls-ca-path", p.caFile, "--auth", "PLAIN", "--auth-user", testUser,
				"--auth-password", testPassword, "--from", "ann@example.com", "--to", "bob@example.org",
				"--header", "Subject: from swaks", "--body", "swaks was here"}, nil, starttls, false},
			run{"msmtp tls-starttls=" + msmtpTLS, "msmtp", []string{"--host=" + host, "--port=" + port,
				"--tls=on", "--tls-starttls=" + msmtpTLS, "--tls-trust-file=" + p.caFile, "--auth=plain",
				"--user=" + testUser, "--passwordeval=printf '%s\\n' \"$" + passwordVar + "\"",
				"--from=ann@example.com", "--", "bob@example.org"}, msg, starttls, true},
		)
	}
	stored := 0
	for _, r := range runs {
		path := testpeer.Need(t, r.bin, r.bin)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, path, r.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), passwordVar + "=" + testPassword}
		cmd.Stdin = bytes.NewReader(r.stdin)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s failed: %v\n%s\nserve stderr:\n%s", r.name, err, out, p.stderr)
			continue
		}
		stored++
		m := p.messages(t, stored)[stored-1]
		if m.AuthUser != testUser || m.TLS == nil || m.TLS.STARTTLS != r.starttls {
			t.Errorf("%s: auth %q, tls %+v", r.name, m.AuthUser, m.TLS)
		}
		if r.exact && !bytes.Equal(m.Data, msg) {
			t.Errorf("%s: delivered bytes differ\n got: %q\nwant: %q", r.name, m.Data, msg)
		}
		if !r.exact && !bytes.Contains(m.Data, []byte("swaks was here")) {
			t.Errorf("%s: body missing:\n%s", r.name, m.Data)
		}
	}
	p.stop(t)
}

func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("bad address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
