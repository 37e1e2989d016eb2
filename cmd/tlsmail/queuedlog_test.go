package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// TestQueuedDeliveryLogLine: a message deferred to the outbox gets
// msmtp's log line when it is deferred (sendmail's run), and another when
// a later run delivers it or fails it for good: `queue run`, `sendmail
// -q`, or the backlog a later sendmail delivers. The line goes to the
// account's logfile, kept with the item, in the direct send's format,
// exitcode the code the command line gives the outcome; the password is
// never in it. Before, nothing was written once the message had been
// deferred: a log reader never learnt that it left.
func TestQueuedDeliveryLogLine(t *testing.T) {
	t.Parallel()
	const reject = "reject@example.org"
	for _, tc := range []struct {
		name string
		run  func(cfg string) []string
		// own: the run sends a message of its own (one more line).
		own bool
	}{
		{"queue run", func(string) []string { return []string{"queue", "run"} }, false},
		{"sendmail -q", func(cfg string) []string { return []string{"sendmail", "-q", "-C", cfg} }, false},
		{"backlog", func(cfg string) []string { return []string{"sendmail", "-C", cfg, "carol@example.org"} }, true},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			// The server is down when the messages are sent: started for
			// its address and CA, then stopped; started again on the same
			// address and directory (same CA file) for the later run.
			dir := t.TempDir()
			down := startServer(t, func(c *server.Config) { c.Dir = dir })
			addr := down.SMTPAddr()
			logfile := filepath.Join(t.TempDir(), "msmtp.log")
			cfg := writeFile(t, "msmtprc", []byte(strings.TrimSuffix(readText(t, writeMsmtprc(t, down, addr)), "\n")+"\nlogfile "+logfile+"\n"), 0o600)
			down.Close()
			queue := filepath.Join(t.TempDir(), "queue")
			env := []string{"TLSMAIL_QUEUE_DIR=" + queue}
			for _, to := range []string{"bob@example.org", reject} {
				r := proc{args: []string{"sendmail", "-C", cfg, to}, env: env, stdin: strings.NewReader("Subject: s\n\nb\n")}.run(t)
				if r.code != 0 || !strings.Contains(r.stderr, "not delivered yet") {
					t.Fatalf("sendmail to %s with the server down: %s", to, r)
				}
			}
			if lines := logLines(t, logfile); len(lines) != 2 || !strings.Contains(lines[0], "exitcode=EX_TEMPFAIL") {
				t.Fatalf("after two deferred messages, the log is:\n%s", strings.Join(lines, "\n"))
			}
			// Time passes: the items are due again (as a clock would make
			// them: their state's next attempt moved to the past).
			makeDue(t, queue)
			up := startServer(t, func(c *server.Config) {
				c.Dir, c.SMTPAddr = dir, addr
				c.RejectRecipient = func(to string) *server.Reply {
					if to == reject {
						return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user here"}
					}
					return nil
				}
			})
			r := proc{args: tc.run(cfg), env: env, stdin: strings.NewReader("Subject: s\n\nb\n")}.run(t)
			want := 4
			if tc.own {
				want = 5
				waitMessages(t, up, 2)
			}
			lines := logLines(t, logfile)
			if len(lines) != want {
				t.Fatalf("%s: the log has %d lines, want %d:\n%s\n%s", tc.name, len(lines), want, strings.Join(lines, "\n"), r)
			}
			var delivered, failed string
			for _, l := range lines[2:] {
				switch {
				case strings.Contains(l, "recipients=bob@example.org "):
					delivered = l
				case strings.Contains(l, "recipients="+reject+" "):
					failed = l
				}
			}
			if !strings.Contains(delivered, "exitcode=EX_OK") || !strings.Contains(delivered, "smtpstatus=250") ||
				!strings.Contains(delivered, "host=127.0.0.1 tls=on auth=on user="+testUser+" from=ann@example.com") ||
				!strings.Contains(delivered, "mailsize=") {
				t.Errorf("%s: no delivered line for bob (host, auth, 250, EX_OK):\n%s", tc.name, strings.Join(lines, "\n"))
			}
			if !strings.Contains(failed, "smtpstatus=550") || !strings.Contains(failed, "exitcode=EX_DATAERR") {
				t.Errorf("%s: no failed line for %s (550, EX_DATAERR):\n%s", tc.name, reject, strings.Join(lines, "\n"))
			}
			if text := readText(t, logfile); strings.Contains(text, testPassword) {
				t.Errorf("%s: the log holds the password:\n%s", tc.name, text)
			}
		})
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeDue moves the next attempt of every item of the spool directory
// queue to a minute ago.
func makeDue(t *testing.T, queue string) {
	t.Helper()
	states, err := filepath.Glob(filepath.Join(queue, "msg", "*.state"))
	if err != nil || len(states) == 0 {
		t.Fatalf("no item states in %s: %v", queue, err)
	}
	for _, p := range states {
		var st map[string]any
		if err := json.Unmarshal([]byte(readText(t, p)), &st); err != nil {
			t.Fatal(err)
		}
		st["next_attempt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		b, _ := json.Marshal(st)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueuedLogOutcomes: queuedLog writes a line for the outcomes that
// take an item out of the outbox (delivered, failed for good, expired),
// none for an item deferred again (its line was written when it was
// queued) nor for an item whose settings keep no log (queued before the
// log was kept). An expired item's line gives the outbox's reason and the
// code of a message failed for good (69), not its last attempt's 75.
func TestQueuedLogOutcomes(t *testing.T) {
	t.Parallel()
	logfile := filepath.Join(t.TempDir(), "log")
	q, err := outbox.Open(filepath.Join(t.TempDir(), "queue"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	withLog := submit.Account{Host: "mail.example.org", Port: 587, Mode: smtp.StartTLS, Log: submit.Log{File: logfile}}
	noLog := submit.Account{Host: "mail.example.org", Port: 587, Mode: smtp.StartTLS}
	item := func(a submit.Account) *outbox.Item {
		id, err := submit.Enqueue(context.Background(), q, &a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		var found *outbox.Item
		q.Walk(func(it *outbox.Item) error {
			if it.ID == id {
				found = it
			}
			return nil
		})
		if found == nil {
			t.Fatal("the item queued is not in the outbox")
		}
		return found
	}
	refused := errors.New("connect: connection refused")
	expired := item(withLog)
	expired.FailedAt, expired.Reason = time.Now(), "expired after 5 days in the queue (12 attempts); last error: connect: connection refused"
	var stderr strings.Builder
	e := &env{stderr: &stderr, getenv: func(string) string { return "" }}
	for _, tc := range []struct {
		name string
		it   *outbox.Item
		res  outbox.Result
		want string // "" for no line
	}{
		{"deferred again", item(withLog), outbox.Result{Outcome: outbox.Temporary, Err: refused}, ""},
		{"delivered, no log kept", item(noLog), outbox.Result{Outcome: outbox.Delivered}, ""},
		{"delivered", item(withLog), outbox.Result{Outcome: outbox.Delivered}, "exitcode=EX_OK"},
		{"expired", expired, outbox.Result{Outcome: outbox.Temporary, Err: refused},
			"errormsg='expired after 5 days in the queue (12 attempts); last error: connect: connection refused' exitcode=EX_UNAVAILABLE"},
	} {
		before := len(logLines(t, logfile))
		queuedLog(e, nil, tc.it, tc.res, nil)
		lines := logLines(t, logfile)
		switch {
		case tc.want == "" && len(lines) != before:
			t.Errorf("%s: a line was written: %s", tc.name, lines[len(lines)-1])
		case tc.want != "" && len(lines) != before+1:
			t.Errorf("%s: %d lines written, want 1", tc.name, len(lines)-before)
		case tc.want != "" && !strings.Contains(lines[len(lines)-1], tc.want):
			t.Errorf("%s: line %q lacks %q", tc.name, lines[len(lines)-1], tc.want)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("warnings: %s", stderr.String())
	}
}

// TestQueuedLogStdoutNotKept: README, "logfile - is not kept": a message
// deferred by a sendmail whose account logs to standard output ("logfile
// -") gets its line on that run's stdout, but the item does not keep "-"
// as its log: the later `queue run` that delivers it writes no msmtp line
// to its own stdout (which is not the stdout the account named).
func TestQueuedLogStdoutNotKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := startServer(t, func(c *server.Config) { c.Dir = dir })
	addr := down.SMTPAddr()
	cfg := writeFile(t, "msmtprc", []byte(strings.TrimSuffix(readText(t, writeMsmtprc(t, down, addr)), "\n")+"\nlogfile -\n"), 0o600)
	down.Close()
	env := []string{"TLSMAIL_QUEUE_DIR=" + filepath.Join(t.TempDir(), "queue")}
	r := proc{args: []string{"sendmail", "-C", cfg, "bob@example.org"}, env: env, stdin: strings.NewReader("Subject: s\n\nb\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "not delivered yet") || !strings.Contains(r.stdout, "exitcode=EX_TEMPFAIL") {
		t.Fatalf("sendmail with the server down, logfile -: want the deferral's line on stdout\n%s", r)
	}
	makeDue(t, strings.TrimPrefix(env[0], "TLSMAIL_QUEUE_DIR="))
	up := startServer(t, func(c *server.Config) { c.Dir, c.SMTPAddr = dir, addr })
	r = proc{args: []string{"queue", "run"}, env: env}.run(t)
	if r.code != 0 {
		t.Fatalf("queue run: %s", r)
	}
	waitMessages(t, up, 1)
	if strings.Contains(r.stdout, "exitcode=") {
		t.Errorf("queue run wrote msmtp's line for an item queued with logfile -:\n%s", r)
	}
}
