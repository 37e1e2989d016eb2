package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
)

// testToken is the OAuth 2.0 access token the servers of these tests take.
const testToken = "ya29.a0-test-bearer-7f3c"

// tokenServer starts a server that takes testToken for testUser through
// OAUTHBEARER and XOAUTH2 (RFC 7628), and no password.
func tokenServer(t *testing.T, modify func(*server.Config)) *server.Server {
	return startServer(t, func(c *server.Config) {
		c.Users = nil
		c.Tokens = map[string]string{testUser: testToken}
		c.AuthFailureDelay = -1
		if modify != nil {
			modify(c)
		}
	})
}

// `send --auth oauthbearer` (any case) takes the token from the password
// sources and authenticates with OAUTHBEARER (issue 14 item 9); a stale
// token fails with exit 77 and an error that names the server's JSON
// status; the token is in neither the transcript nor the output.
func TestSendAuthOAuthBearer(t *testing.T) {
	t.Parallel()
	srv := tokenServer(t, nil)
	caFile := srv.CAFile()
	for _, tc := range []struct {
		token string
		code  int
	}{{testToken, 0}, {"ya29.stale-token-0000", exitNoPerm}} {
		r := proc{args: []string{"send", "--server", srv.SMTPAddr(), "--tls", "starttls", "--ca", caFile,
			"--user", testUser, "--auth", "oauthbearer", "--password-env", "TOKEN",
			"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "oauth", "--body", "b",
			"--transcript", "-", "--json"}, env: []string{"TOKEN=" + tc.token}}.run(t)
		if r.code != tc.code {
			t.Fatalf("token %s: exit %d, want %d\n%s", tc.token, r.code, tc.code, r)
		}
		if strings.Contains(r.stdout+r.stderr, tc.token) {
			t.Errorf("the token appears in the output:\n%s", r)
		}
		if !strings.Contains(r.stdout+r.stderr, "AUTH OAUTHBEARER [redacted]") {
			t.Errorf("the transcript does not show the redacted AUTH line:\n%s", r)
		}
		if tc.code == 0 {
			if j := decodeJSON(t, r); j["auth"] != "OAUTHBEARER" {
				t.Errorf("auth = %v, want OAUTHBEARER", j["auth"])
			}
		} else if !strings.Contains(r.stdout, "invalid_token") {
			t.Errorf("the error does not name the server's status:\n%s", r)
		}
	}
	if n := storedCount(t, srv); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// `auth oauthbearer` and `auth xoauth2` in an msmtp configuration, the
// token from passwordeval: msmtp and tlsmail both deliver (issue 14 item
// 9: it used to be refused).
func TestMsmtpAuthOAuth(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	for _, mech := range []string{"oauthbearer", "xoauth2"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			srv := tokenServer(t, nil)
			host, port := "127.0.0.1", portOf(t, srv.SMTPAddr())
			cfg := writeFile(t, "msmtprc", []byte(fmt.Sprintf(`defaults
tls on
tls_starttls on
tls_trust_file %s
timeout 30

account default
host %s
port %s
auth %s
user %s
passwordeval echo %s
from ann@example.com
`, srv.CAFile(), host, port, mech, testUser, testToken)), 0o600)
			m := &mailbox{srv: srv, cfg: cfg, queue: t.TempDir() + "/queue"}
			ms, tm := runBoth(t, m, msmtp, []string{"-C", cfg, "bob@example.org"}, "Subject: oauth\n\nbody\n")
			if ms.code != 0 || tm.code != 0 || ms.rcpt != tm.rcpt {
				t.Errorf("msmtp: exit %d to %q (%s); tlsmail: exit %d to %q (%s)", ms.code, ms.rcpt, ms.stderr, tm.code, tm.rcpt, tm.stderr)
			}
		})
	}
}

// A malformed token (here with a blank: a password command printing more
// than the token) is a configuration problem of the account, as a refused
// token, a missing netrc entry or a failing passwordeval are: the queued
// message stays queued (exit 0, a line saying it will not heal by itself),
// and once the password command is fixed the advised command delivers it.
// Before, it went to failed/ with exit 78 while a refused token stayed
// queued.
func TestSendmailMalformedTokenStaysQueued(t *testing.T) {
	t.Parallel()
	srv := tokenServer(t, nil)
	text := func(eval string) string {
		return fmt.Sprintf("defaults\ntls on\ntls_starttls on\ntls_trust_file %s\ntimeout 30\n\naccount default\nhost 127.0.0.1\nport %s\nauth oauthbearer\nuser %s\npasswordeval %s\nfrom ann@example.com\n",
			srv.CAFile(), portOf(t, srv.SMTPAddr()), testUser, eval)
	}
	cfg := writeFile(t, "msmtprc", []byte(text("echo 'Bearer "+testToken+"'")), 0o600)
	m := &mailbox{srv: srv, cfg: cfg, queue: t.TempDir() + "/queue"}
	r := proc{args: []string{"sendmail", "-C", cfg, "bob@example.org"}, env: m.env(),
		stdin: strings.NewReader("Subject: token\n\nbody\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "will not heal by itself") || !strings.Contains(r.stderr, "access token alone, on one line") {
		t.Errorf("a malformed token: want exit 0, kept, and what to fix: %s", r)
	}
	if strings.Contains(r.stderr, testToken) {
		t.Errorf("the token is on standard error: %s", r)
	}
	if q := m.list(t); len(q.Queued) != 1 || len(q.Failed) != 0 {
		t.Fatalf("queued %d, failed %d; want the message kept in the queue", len(q.Queued), len(q.Failed))
	}
	writeFileAt(t, cfg, text("echo "+testToken), 0o600)
	if r := (proc{args: []string{"queue", "flush"}, env: m.env()}).run(t); r.code != 0 || storedCount(t, srv) != 1 {
		t.Errorf("after the fix, queue flush: %s (stored %d)", r, storedCount(t, srv))
	}
}

// `send --queue` with a malformed token: the message stays queued (exit
// 75), and the error still says what to fix (the token), not only that
// 'tlsmail queue run' retries it: retrying alone never delivers it.
func TestSendQueueMalformedTokenSaysFix(t *testing.T) {
	t.Parallel()
	srv := tokenServer(t, nil)
	queue := t.TempDir() + "/queue"
	r := proc{args: []string{"send", "--server", srv.SMTPAddr(), "--tls", "starttls", "--ca", srv.CAFile(),
		"--user", testUser, "--auth", "oauthbearer", "--password-cmd", "echo 'Bearer " + testToken + "'",
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "oauth", "--body", "b",
		"--queue", "--queue-dir", queue, "--json"}}.run(t)
	t.Logf("%s", r)
	if r.code != exitTempFail {
		t.Errorf("exit %d, want %d (queued)", r.code, exitTempFail)
	}
	if strings.Contains(r.stdout+r.stderr, testToken) {
		t.Errorf("the token is in the output: %s", r)
	}
	fix, _ := decodeJSON(t, r)["error"].(map[string]any)["fix"].(string)
	if !strings.Contains(fix, "token") || !strings.Contains(fix, "queue flush") || strings.Contains(fix, "queue run' retries it") {
		t.Errorf("the fix does not say what to fix (the token) and how to deliver it then: %q", fix)
	}
}

// `send --queue --ehlo NAME` with a name Dial refuses (over 255 octets):
// refused before anything is queued (exit 78), not queued to wait until
// it expires, since Classify defers KindConfig and the item keeps the
// name (nothing could cure it).
func TestSendQueueBadEHLONotQueued(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	queue := t.TempDir() + "/queue"
	r := proc{args: []string{"send", "--server", srv.SMTPAddr(), "--tls", "starttls", "--ca", srv.CAFile(),
		"--ehlo", strings.Repeat("a", 300),
		"--from", "ann@example.com", "--to", "bob@example.org", "--subject", "s", "--body", "b",
		"--queue", "--queue-dir", queue}}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "--ehlo") {
		t.Errorf("exit %d, want %d naming --ehlo: %s", r.code, exitConfig, r)
	}
	if entries, _ := os.ReadDir(filepath.Join(queue, "msg")); len(entries) != 0 {
		t.Errorf("%d files queued, want none", len(entries))
	}
}
