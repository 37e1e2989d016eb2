package interop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/internal/testport"
	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/trust"
)

// Bounds on every wait in this package. They are limits, not expectations:
// no test asserts how long anything takes.
const (
	commandTimeout  = 60 * time.Second // one run of a third-party program
	deliveryTimeout = 60 * time.Second // a message to arrive somewhere
)

// needBinary returns the path of program, or skips the test naming the
// Debian package that provides it.
func needBinary(t *testing.T, program, debPackage string) string {
	t.Helper()
	return testpeer.Need(t, program, debPackage)
}

// testContext is a context for one test, bounded so that nothing hangs.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freePort returns a loopback address with a port that was free a moment
// ago, for programs that cannot report the port they bound.
func freePort(t *testing.T) string {
	t.Helper()
	// Below the ephemeral range the run's other listeners draw from: a
	// port of "127.0.0.1:0" was once taken by another package's test
	// server before Postfix bound it (see internal/testport).
	addr, err := testport.Addr()
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	return addr
}

// waitListening dials addr until it accepts or ctx (bounded by
// deliveryTimeout) ends; alive, when non-nil, reports a process that died.
func waitListening(ctx context.Context, addr string, alive func() error) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if alive != nil {
			if aerr := alive(); aerr != nil {
				return aerr
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s: %w (last dial error: %v)", addr, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pollUntil calls f until it returns true or an error, or ctx (bounded by
// deliveryTimeout) ends.
func pollUntil(ctx context.Context, what string, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// sharedDir makes a temporary directory that other users (the postfix and
// nobody accounts that Postfix's daemons run as) can traverse, removed at
// cleanup. t.TempDir's directories are private (0700), so it is not used.
func sharedDir(t *testing.T, pattern string) string {
	t.Helper()
	parent := os.TempDir()
	if !traversable(parent) {
		t.Logf("%s is not searchable by other users; using /tmp for %s", parent, pattern)
		parent = "/tmp"
	}
	d, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A program that just exited may still be finishing a write in it.
		err := pollUntil(context.Background(), "removing "+d, func() (bool, error) {
			return os.RemoveAll(d) == nil, nil
		})
		if err != nil {
			t.Logf("cannot remove %s: %v", d, os.RemoveAll(d))
		}
	})
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// traversable reports whether every directory from dir up to the root can
// be searched by other users (mode o+x).
func traversable(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// pkiFiles is a server PKI written to disk for a third-party program.
type pkiFiles struct {
	PKI                   *testpki.PKI
	CAFile, CertFile, Key string
	CertAndKey            string // chain followed by the key, for programs that want one file
	Roots                 *x509.CertPool
}

// newPKIFiles makes a loopback PKI (localhost, 127.0.0.1, ::1) with an
// ECDSA P-256 leaf and writes ca.pem, server.pem (leaf + intermediate),
// server.key and server-key.pem into dir.
func newPKIFiles(t *testing.T, dir string) *pkiFiles {
	t.Helper()
	pki, err := testpki.NewPKI(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return writePKIFiles(t, dir, pki)
}

// newPKIFilesKey is newPKIFiles with the leaf's key given (e.g. RSA).
func newPKIFilesKey(t *testing.T, dir string, key crypto.Signer) *pkiFiles {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(testpki.Options{DNSNames: testpki.LoopbackNames, IPAddresses: testpki.LoopbackIPs(), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return writePKIFiles(t, dir, &testpki.PKI{Root: root, Intermediate: inter, Server: leaf})
}

func writePKIFiles(t *testing.T, dir string, pki *testpki.PKI) *pkiFiles {
	t.Helper()
	ca, cert, key, err := pki.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "server-key.pem")
	if err := os.WriteFile(both, append(chain, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pkiFiles{PKI: pki, CAFile: ca, CertFile: cert, Key: key, CertAndKey: both, Roots: pki.Root.Pool()}
}

// unrelatedCA writes the certificate of a fresh root that signed nothing
// the tests' servers present, and returns its path.
func unrelatedCA(t *testing.T, dir string) string {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{CommonName: "Unrelated Test Root CA"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "unrelated-ca.pem")
	if err := os.WriteFile(p, testpki.CertsPEM(root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// embedded is a running embedded server and its log.
type embedded struct {
	*server.Server
	log *testbuf.Buffer
}

// startEmbedded starts the embedded server on loopback (both listeners on
// free ports unless cfg names one) and closes it at cleanup; its log is
// printed when the test fails.
func startEmbedded(t *testing.T, cfg server.Config) *embedded {
	t.Helper()
	log := &testbuf.Buffer{}
	if cfg.SMTPAddr == "" && cfg.SMTPSAddr == "" {
		cfg.SMTPAddr, cfg.SMTPSAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Log = log
	srv, err := server.Start(testContext(t), cfg)
	if err != nil {
		t.Fatalf("starting the embedded server: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("embedded server log:\n%s", log.String())
		}
	})
	return &embedded{Server: srv, log: log}
}

// waitMessages waits (bounded) until srv has stored n messages.
func (e *embedded) waitMessages(t *testing.T, ctx context.Context, n int) []server.Message {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	ms, err := e.Wait(wctx, n)
	if err != nil {
		t.Fatalf("embedded server: %v", err)
	}
	return ms
}

// waitFor waits (bounded) for the stored message that contains marker.
func (e *embedded) waitFor(t *testing.T, ctx context.Context, marker string) server.Message {
	t.Helper()
	var found server.Message
	err := pollUntil(ctx, "the relayed message "+marker, func() (bool, error) {
		ms, err := e.Messages()
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			b, err := m.Data()
			if err != nil {
				return false, err
			}
			if bytes.Contains(b, []byte(marker)) {
				found = m
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// sendWith sends msg with tlsmail's smtp client and checks the result.
func sendWith(t *testing.T, ctx context.Context, addr string, cfg *smtp.Config, env smtp.Envelope, msg []byte) (*smtp.Result, secchan.State) {
	t.Helper()
	c, err := smtp.Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatalf("smtp.Dial %s (%s): %v", addr, cfg.Mode, err)
	}
	defer c.Close()
	st, ok := c.TLS()
	if !ok || !st.Verified {
		t.Fatalf("connection to %s: TLS=%v verified=%v; want a verified TLS session", addr, ok, st.Verified)
	}
	t.Logf("%s: %s, %s, %d certificates from the peer, verified", addr, secchan.VersionName(st.Version), st.CipherName, len(st.PeerCertificates))
	res, err := c.Send(ctx, env, bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("Send via %s: %v", addr, err)
	}
	if len(res.Rejected) != 0 {
		t.Fatalf("Send via %s: rejected recipients %+v", addr, res.Rejected)
	}
	if err := c.Quit(ctx); err != nil {
		t.Errorf("QUIT to %s: %v", addr, err)
	}
	return res, st
}

// clientConfig is the smtp client configuration verifying against roots.
func clientConfig(mode smtp.TLSMode, roots *x509.CertPool, auth *smtp.Auth) *smtp.Config {
	return &smtp.Config{
		Mode:      mode,
		TLS:       &secchan.Config{Trust: trust.Options{Roots: roots}},
		Auth:      auth,
		LocalName: "client.tlsmail.test",
		Timeout:   30 * time.Second,
	}
}

// testMessage is an RFC 5322 message (CRLF line endings) that exercises what
// relays tend to mangle: dot-stuffing (RFC 5321 section 4.5.2), a lone ".",
// "From " at the start of a line, trailing white space, tabs, a folded
// header, 8-bit UTF-8 text (RFC 6152), empty lines and a 990-octet line,
// just under the 998 limit of RFC 5322 section 2.1.1. tag makes it unique.
func testMessage(tag string) []byte {
	lines := []string{
		"From: Sender <sender@tlsmail.test>",
		"To: Recipient <" + "rcpt@example.test" + ">",
		"Subject: interop " + tag,
		"Date: Mon, 02 Mar 2026 10:00:00 +0000",
		"Message-ID: <" + tag + "@tlsmail.test>",
		"X-Folded: first part of a folded header",
		"\tand its continuation after a tab",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
		"",
		"Hello from tlsmail (" + tag + ").",
		".",
		"..two dots",
		".leading dot",
		"From the start of a line (mbox would quote this)",
		"trailing spaces   ",
		"\ttab-indented",
		"",
		"",
		"Grüße, 日本語, ñ — 8-bit text",
		strings.Repeat("0123456789", 99),
		"last line",
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// splitTrace removes the trace and delivery fields a server prepends (the
// names given, compared case-insensitively, with their continuation lines)
// from the top of msg. It returns those fields, unfolded, and the rest.
func splitTrace(msg []byte, names ...string) (fields []string, rest []byte) {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		colon := bytes.IndexByte(line, ':')
		known := false
		if colon > 0 {
			for _, n := range names {
				if strings.EqualFold(string(line[:colon]), n) {
					known = true
				}
			}
		}
		if !known {
			break
		}
		field := strings.TrimRight(string(line), "\r\n")
		msg = msg[len(line):]
		for len(msg) > 0 && (msg[0] == ' ' || msg[0] == '\t') { // continuation lines
			i := bytes.IndexByte(msg, '\n')
			if i < 0 {
				i = len(msg) - 1
			}
			field += " " + strings.TrimSpace(string(msg[:i+1]))
			msg = msg[i+1:]
		}
		fields = append(fields, field)
	}
	return fields, msg
}

// toLF converts CRLF line endings to LF, as Postfix stores mail on disk.
func toLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// diffBytes describes the first difference between got and want.
func diffBytes(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	ctx := func(b []byte) string {
		lo, hi := max(i-40, 0), min(i+40, len(b))
		return fmt.Sprintf("%q", b[lo:hi])
	}
	return fmt.Sprintf("%d bytes, want %d; first difference at offset %d:\n got  ...%s\n want ...%s",
		len(got), len(want), i, ctx(got), ctx(want))
}

// run runs a program to completion under commandTimeout, feeding stdin,
// and returns its combined output and error.
func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	return runEnv(ctx, stdin, nil, name, args...)
}

// runEnv is run with extra environment variables ("NAME=value").
func runEnv(ctx context.Context, stdin []byte, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w (%s did not finish within %s)", err, name, commandTimeout)
	}
	return out.String(), err
}

// exitCode is the exit status in err, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lastLines returns the last n lines of s, for short failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
