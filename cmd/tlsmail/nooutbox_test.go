package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestSendmailWithoutOutbox (issue 14 item 10): when the outbox directory
// cannot be created (PHP-FPM's www-data, whose HOME it cannot write; here
// a path below a regular file, which fails for root too), sendmail sends
// the message directly and says so, instead of exiting 75 with nothing
// sent; a failed direct attempt exits with its own code and says nothing
// was kept.
func TestSendmailWithoutOutbox(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noOutbox := "TLSMAIL_QUEUE_DIR=" + filepath.Join(file, "queue")
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "bob@example.org"}, env: m.env(noOutbox),
		stdin: strings.NewReader("Subject: direct\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "sending directly") {
		t.Fatalf("want exit 0 and a warning that the message went unqueued: %s", r)
	}
	msgs, err := m.srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "bob@example.org" {
		t.Errorf("want the message delivered once: %+v", msgs)
	}
	// A server that is down: nothing can be kept, so the failure is the
	// exit status (75), as with msmtp.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := portOf(t, closed.Addr().String())
	closed.Close()
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	down := writeFile(t, "msmtprc", []byte(strings.Replace(string(cfg), "port "+portOf(t, m.srv.SMTPAddr()), "port "+closedPort, 1)), 0o600)
	r = proc{args: []string{"sendmail", "-C", down, "-i", "bob@example.org"}, env: m.env(noOutbox),
		stdin: strings.NewReader("Subject: direct\n\nx\n")}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "not kept") {
		t.Errorf("want exit 75 saying nothing was kept: %s", r)
	}
}

// TestSendmailWithoutOutboxLogs: msmtp's log line of a message sent
// directly for want of an outbox says so (a daemon's stderr is often
// lost, the log is where an administrator looks), and on a failure that
// nothing was kept.
func TestSendmailWithoutOutboxLogs(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noOutbox := "TLSMAIL_QUEUE_DIR=" + filepath.Join(file, "queue")
	logfile := filepath.Join(t.TempDir(), "log")
	r := proc{args: []string{"sendmail", "-C", m.cfg, "--logfile=" + logfile, "-i", "bob@example.org"}, env: m.env(noOutbox),
		stdin: strings.NewReader("Subject: direct\n\nx\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("want exit 0: %s", r)
	}
	data, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if f := logFields(t, strings.TrimSuffix(string(data), "\n")); !strings.Contains(f["errormsg"], "no outbox") || f["exitcode"] != "EX_OK" {
		t.Errorf("the log line does not say the message went without an outbox: %v", f)
	}
	cfg, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	down := writeFile(t, "msmtprc", []byte(strings.Replace(string(cfg), "port "+portOf(t, m.srv.SMTPAddr()), "port 1", 1)), 0o600)
	logfile = filepath.Join(t.TempDir(), "log")
	r = proc{args: []string{"sendmail", "-C", down, "--logfile=" + logfile, "-i", "bob@example.org"}, env: m.env(noOutbox),
		stdin: strings.NewReader("Subject: direct\n\nx\n")}.run(t)
	if r.code == 0 {
		t.Fatalf("want a failure: %s", r)
	}
	if data, err = os.ReadFile(logfile); err != nil {
		t.Fatal(err)
	}
	if f := logFields(t, strings.TrimSuffix(string(data), "\n")); !strings.Contains(f["errormsg"], "not kept") {
		t.Errorf("the log line does not say nothing was kept: %v", f)
	}
}

// TestSendmailWithoutOutboxPartlyRefused: a message sent directly (no
// outbox) that the server took for some recipients and refused for
// others says it was delivered to those, not "not sent": a caller who
// read "not sent" would send it again to everyone. It still exits 65 and
// names the refused address. Before, the line began "not sent, and not
// kept (no outbox)" although bob had the message.
func TestSendmailWithoutOutboxPartlyRefused(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if strings.HasPrefix(to, "nobody@") {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		}
	}, nil)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noOutbox := "TLSMAIL_QUEUE_DIR=" + filepath.Join(file, "queue")
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "bob@example.org", "nobody@example.org"}, env: m.env(noOutbox),
		stdin: strings.NewReader("Subject: direct\n\nx\n")}.run(t)
	if msgs, err := m.srv.Messages(); err != nil || len(msgs) != 1 {
		t.Fatalf("want the message delivered to bob: %v %v", msgs, err)
	}
	if r.code != exitRejected || !strings.Contains(r.stderr, "nobody@example.org") {
		t.Errorf("want exit 65 naming the refused address: %s", r)
	}
	if strings.Contains(r.stderr, "not sent,") || !strings.Contains(r.stderr, "not sent to the refused recipients") {
		t.Errorf("the message went to bob, the error says otherwise: %s", r)
	}
}
