package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
)

// DSN (RFC 3461) side by side with msmtp (issue 14 item 9): -N/-R, their
// long forms and the dsn_notify/dsn_return commands put the same NOTIFY=
// and RET= on the wire as msmtp does; to a server that does not offer DSN
// both exit 69 and nothing is stored; a bad -N is a usage error.
func TestMsmtpDSN(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	withDSN := newMailbox(t, func(c *server.Config) { c.DSN = true }, nil)
	base, err := os.ReadFile(withDSN.cfg)
	if err != nil {
		t.Fatal(err)
	}
	inFile := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), "from ann@example.com",
		"from ann@example.com\ndsn_notify success,failure\ndsn_return headers", 1)), 0o600)
	for _, tc := range []struct {
		name       string
		args       []string
		ret        string
		notify     string
		rcptNotify int // recipients with NOTIFY=
	}{
		{"-N -R", []string{"-C", withDSN.cfg, "-N", "failure,delay", "-R", "hdrs", "bob@example.org", "cy@example.org"}, "HDRS", "FAILURE,DELAY", 2},
		{"long options", []string{"-C", withDSN.cfg, "--dsn-notify=never", "--dsn-return=full", "bob@example.org"}, "FULL", "NEVER", 1},
		{"config", []string{"-C", inFile, "bob@example.org"}, "HDRS", "SUCCESS,FAILURE", 1},
		{"-N off over config", []string{"-C", inFile, "-N", "off", "-R", "off", "bob@example.org"}, "", "", 0},
	} {
		ms, tm := runBoth(t, withDSN, msmtp, tc.args, "Subject: dsn\n\nbody\n")
		if ms.code != 0 || tm.code != 0 {
			t.Errorf("%s: msmtp exit %d (%s), tlsmail exit %d (%s)", tc.name, ms.code, ms.stderr, tm.code, tm.stderr)
			continue
		}
		msgs := waitMessages(t, withDSN.srv, storedCount(t, withDSN.srv))
		for i, m := range msgs[len(msgs)-2:] {
			who := []string{"msmtp", "tlsmail"}[i]
			var want []string
			for range tc.rcptNotify {
				want = append(want, tc.notify)
			}
			if m.DSNReturn != tc.ret || !slices.Equal(m.Notify, want) {
				t.Errorf("%s: %s sent RET=%q NOTIFY=%q, want %q %q", tc.name, who, m.DSNReturn, m.Notify, tc.ret, want)
			}
		}
	}

	noDSN := newMailbox(t, nil, nil)
	for _, args := range [][]string{
		{"-C", noDSN.cfg, "-N", "failure", "bob@example.org"},
		{"-C", noDSN.cfg, "--dsn-return=hdrs", "bob@example.org"},
	} {
		ms, tm := runBoth(t, noDSN, msmtp, args, "Subject: dsn\n\nbody\n")
		if ms.code != exitUnavailable || tm.code != exitUnavailable {
			t.Errorf("%q to a server without DSN: msmtp exit %d, tlsmail exit %d (%s); want %d for both",
				args, ms.code, tm.code, tm.stderr, exitUnavailable)
		}
		if !strings.Contains(tm.stderr, "DSN") {
			t.Errorf("%q: the error does not say DSN is missing: %s", args, tm.stderr)
		}
	}
	for _, args := range [][]string{{"-N", "failure,sometimes"}, {"--dsn-return=everything"}} {
		ms, tm := runBoth(t, noDSN, msmtp, append(append([]string{"-C", noDSN.cfg}, args...), "bob@example.org"), "Subject: dsn\n\nbody\n")
		if ms.code != exitUsage || tm.code != exitUsage {
			t.Errorf("%q: msmtp exit %d, tlsmail exit %d (%s); want %d for both", args, ms.code, tm.code, tm.stderr, exitUsage)
		}
	}
}

// A message queued with -odq keeps its DSN request in the outbox: `queue
// run` delivers it with the same RET= and NOTIFY=, and one queued for a
// server without DSN fails for good (it would never be delivered as asked)
// and stays in failed/.
func TestSendmailDSNQueued(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, func(c *server.Config) { c.DSN = true }, nil)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-N", "success", "-R", "full", "bob@example.org"},
		env: m.env(), stdin: strings.NewReader("Subject: later\n\nbody\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("queueing: %s", r)
	}
	if storedCount(t, m.srv) != 0 {
		t.Fatal("-odq delivered at once")
	}
	if r := (proc{args: []string{"queue", "run"}, env: m.env()}).run(t); r.code != 0 {
		t.Fatalf("queue run: %s", r)
	}
	msg := waitMessages(t, m.srv, 1)[0]
	if msg.DSNReturn != "FULL" || !slices.Equal(msg.Notify, []string{"SUCCESS"}) {
		t.Errorf("the queued message went out with RET=%q NOTIFY=%q, want FULL SUCCESS", msg.DSNReturn, msg.Notify)
	}

	no := newMailbox(t, nil, nil)
	r = proc{args: []string{"sendmail", "-C", no.cfg, "-odq", "-N", "failure", "bob@example.org"},
		env: no.env(), stdin: strings.NewReader("Subject: later\n\nbody\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("queueing: %s", r)
	}
	r = proc{args: []string{"queue", "run"}, env: no.env()}.run(t)
	if q := no.list(t); len(q.Failed) != 1 || len(q.Queued) != 0 || storedCount(t, no.srv) != 0 {
		t.Errorf("queue run to a server without DSN: %s\nqueued %d, failed %d, stored %d", r, len(q.Queued), len(q.Failed), storedCount(t, no.srv))
	}
}

// msmtp checks that the server offers DSN right after EHLO, before AUTH:
// to a server without DSN, a DSN request is refused with exit 69 whatever
// the login would have said. Side by side, with a wrong password: both
// exit 69 and name DSN, neither sends AUTH (the server sees no login
// attempt), and tlsmail keeps the message in failed/. Before, tlsmail
// tried the login first and reported the refused password (exit 0,
// queued) instead.
var loginTried = regexp.MustCompile(`(?i)\blogin\b|\b535\b`)

func TestMsmtpDSNCheckedBeforeAuth(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, func(c *server.Config) { c.AuthFailureDelay = -1 }, nil)
	good, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "msmtprc", []byte(strings.Replace(string(good), "password "+testPassword, "password wrong-Secret-77", 1)), 0o600)
	for _, bin := range []string{msmtp, ""} {
		args := []string{"-C", cfg, "-N", "failure", "bob@example.org"}
		who := "msmtp"
		if bin == "" {
			args, who = append([]string{"sendmail"}, args...), "tlsmail"
		}
		r := proc{bin: bin, args: args, env: m.env(), stdin: strings.NewReader("Subject: dsn\n\nbody\n")}.run(t)
		if r.code != exitUnavailable || !strings.Contains(r.stderr, "DSN") || strings.Contains(r.stderr, "wrong-Secret-77") {
			t.Errorf("%s: want exit %d naming DSN: %s", who, exitUnavailable, r)
		}
		// A word match: the test's temporary directory, which stderr
		// names, may hold the digits 535.
		if loginTried.MatchString(r.stderr) {
			t.Errorf("%s: the login was tried before DSN was checked: %s", who, r)
		}
	}
	if q := m.list(t); len(q.Failed) != 1 || len(q.Queued) != 0 {
		t.Errorf("tlsmail's message: queued %d, failed %d; want it in failed/", len(q.Queued), len(q.Failed))
	}
}
