package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestSendmailWrongPasswordThenBacklog (issue 14 item 4): with a wrong
// password sendmail keeps the message and says on standard error that the
// login was refused and that this will not heal by itself; once the
// password is fixed, the next successful sendmail also delivers the
// message left in the outbox (before, it stayed there until a queue run,
// and the line did not say it needed fixing).
func TestSendmailWrongPasswordThenBacklog(t *testing.T) {
	t.Parallel()
	m, r, fixPassword := sendmailWrongPassword(t)
	if r.code != 0 {
		t.Fatalf("a refused login queues the message (exit 0): %s", r)
	}
	for _, want := range []string{"refused the login", "will not heal by itself", "password", "safe in the outbox"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("standard error does not say %q: %s", want, r)
		}
	}
	if strings.Contains(r.stderr, "wrong-Secret-77") {
		t.Errorf("the password is on standard error: %s", r)
	}
	if q := m.list(t); len(q.Queued) != 1 {
		t.Fatalf("want the message queued: %+v", q)
	}
	// The password is fixed; the next message goes, and the first with it.
	fixPassword()
	r = proc{args: []string{"sendmail", "-C", m.cfg, "-i", "second@example.org"}, env: m.env(),
		stdin: strings.NewReader("Subject: second\n\nx\n")}.run(t)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and silence: %s", r)
	}
	msgs, err := m.srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range msgs {
		got = append(got, msg.To...)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"first@example.org", "second@example.org"}) {
		t.Errorf("delivered to %v, want the backlog's first@ and second@", got)
	}
	m.wantEmptyOutbox(t, "")
}

// TestSendmailUntrustedCertificateSaysFix: a server whose certificate the
// configured CA did not issue: the message is kept, and standard error and
// msmtp's log line say the certificate is not trusted and that this will
// not heal by itself (issue 14 item 4).
func TestSendmailUntrustedCertificateSaysFix(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	other := startServer(t, nil) // another throwaway CA
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	logfile := t.TempDir() + "/log"
	wrongCA := strings.Replace(string(cfg), "tls_trust_file "+m.srv.CAFile(), "tls_trust_file "+other.CAFile(), 1) + "logfile " + logfile + "\n"
	if wrongCA == string(cfg)+"logfile "+logfile+"\n" {
		t.Fatal("the test did not change tls_trust_file")
	}
	path := writeFile(t, "msmtprc", []byte(wrongCA), 0o600)
	r := proc{args: []string{"sendmail", "-C", path, "-i", "bob@example.org"}, env: m.env(),
		stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "certificate is not trusted") || !strings.Contains(r.stderr, "will not heal by itself") {
		t.Errorf("want exit 0 and the trust problem named as needing a fix: %s", r)
	}
	data, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "will not heal by itself") {
		t.Errorf("log line: %s", data)
	}
	if q := m.list(t); len(q.Queued) != 1 {
		t.Errorf("want the message kept: %+v", q)
	}
}

// TestSendmailHealAdviceFollowedLiterally: the line that says a refused
// login will not heal by itself names a command to run once the password
// is fixed; run exactly that command at once and the message goes. Before,
// the advice named 'tlsmail queue run', which answered "not due yet" for
// about a minute after the failed attempt (the item's backoff).
func TestSendmailHealAdviceFollowedLiterally(t *testing.T) {
	t.Parallel()
	m, r, fixPassword := sendmailWrongPassword(t)
	_, advice, ok := strings.Cut(r.stderr, "then run '")
	advice, _, ok2 := strings.Cut(advice, "'")
	if r.code != 0 || !ok || !ok2 || !strings.HasPrefix(advice, "tlsmail ") {
		t.Fatalf("want exit 0 and \"then run 'tlsmail ...'\": %s", r)
	}
	fixPassword()
	r = proc{args: strings.Fields(strings.TrimPrefix(advice, "tlsmail ")), env: m.env()}.run(t)
	if r.code != 0 {
		t.Fatalf("the advised %q did not deliver: %s", advice, r)
	}
	msgs, err := m.srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"first@example.org"}) {
		t.Errorf("the advised %q delivered %d messages, want first@example.org's", advice, len(msgs))
	}
	m.wantEmptyOutbox(t, "after "+advice)
}

// sendmailWrongPassword starts a mailbox whose configuration has a wrong
// password (the server answers a failed login at once) and runs sendmail
// for first@example.org with it; fixPassword puts the right password back.
func sendmailWrongPassword(t *testing.T) (m *mailbox, r result, fixPassword func()) {
	t.Helper()
	m = newMailbox(t, func(c *server.Config) { c.AuthFailureDelay = -1 }, nil)
	good, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), "password "+testPassword, "password wrong-Secret-77", 1)
	if err := os.WriteFile(m.cfg, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r = proc{args: []string{"sendmail", "-C", m.cfg, "-i", "first@example.org"}, env: m.env(),
		stdin: strings.NewReader("Subject: first\n\nx\n")}.run(t)
	fixPassword = func() {
		t.Helper()
		if err := os.WriteFile(m.cfg, good, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return m, r, fixPassword
}
