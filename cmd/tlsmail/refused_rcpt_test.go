package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
)

// TestSendmailRefusedRecipient runs `sendmail -i ok reject` through msmtp
// and tlsmail against a server that answers 550 to one RCPT (issue 14
// item 11): both exit 65 (EX_DATAERR) and name the refused address;
// tlsmail also delivers to the accepted one, says so, writes the refusal
// in msmtp's log line (smtpstatus=550, exitcode=EX_DATAERR) and keeps the
// message in failed/ with the refused address and the reply as the
// reason. Before the fix tlsmail exited 0 and said nothing.
func TestSendmailRefusedRecipient(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	const reject = "reject@example.org"
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == reject {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user here"}
			}
			return nil
		}
	}, nil)
	var logs [2]map[string]string
	var results [2]result
	for i, p := range []proc{{bin: msmtp}, {args: []string{"sendmail"}}} {
		logfile := filepath.Join(t.TempDir(), "log")
		p.args = append(p.args, "-C", m.cfg, "--logfile="+logfile, "-i", "ok@example.org", reject)
		p.env = m.env()
		p.stdin = strings.NewReader("Subject: refused recipient\n\nx\n")
		results[i] = p.run(t)
		data, err := os.ReadFile(logfile)
		if err != nil {
			t.Fatalf("%s wrote no log: %v\n%s", p.bin, err, results[i])
		}
		logs[i] = logFields(t, strings.TrimSuffix(string(data), "\n"))
	}
	ms, tm := results[0], results[1]
	if ms.code != exitRejected || !strings.Contains(ms.stderr, reject) {
		t.Fatalf("msmtp (the reference): want exit 65 naming %s: %s", reject, ms)
	}
	if tm.code != exitRejected {
		t.Errorf("tlsmail: exit %d, want 65 as msmtp: %s", tm.code, tm)
	}
	for _, want := range []string{reject, "550", "no such user here", "ok@example.org", "failed"} {
		if !strings.Contains(tm.stderr, want) {
			t.Errorf("tlsmail's standard error does not say %q: %s", want, tm)
		}
	}
	for _, k := range []string{"smtpstatus", "exitcode"} {
		if logs[0][k] != logs[1][k] {
			t.Errorf("log field %s: tlsmail %q, msmtp %q\nmsmtp:   %v\ntlsmail: %v", k, logs[1][k], logs[0][k], logs[0], logs[1])
		}
	}
	if !strings.Contains(logs[1]["errormsg"], reject) || !strings.Contains(logs[1]["smtpmsg"], "no such user here") {
		t.Errorf("tlsmail's log line does not name the refusal: %v", logs[1])
	}
	// The accepted recipient has the message (tlsmail's transaction: msmtp
	// sends none when a recipient is refused).
	got := false
	msgs, err := m.srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if slices.Equal(msg.To, []string{"ok@example.org"}) {
			got = true
		}
	}
	if !got {
		t.Errorf("ok@example.org did not get the message: %+v", msgs)
	}
	q := m.list(t)
	if len(q.Queued) != 0 || len(q.Failed) != 1 {
		t.Fatalf("want the message in failed/ only: %+v", q)
	}
	if r := q.Failed[0].Reason; !strings.Contains(r, reject) || !strings.Contains(r, "550") {
		t.Errorf("failed/ reason does not name the refused recipient and the reply: %q", r)
	}
	// Moved back into the queue, it must not go to ok@ a second time.
	if to := q.Failed[0].Recipients; !slices.Equal(to, []string{reject}) {
		t.Errorf("failed/ item is addressed to %q, want the refused recipient only", to)
	}
}

// TestSendmailTooManyRecipients: a server that takes at most 3
// recipients per message answers 452 4.5.3 to the others (go-smtp's
// MaxRecipients); RFC 5321 section 4.5.3.1.10 says to send the message to
// the rest in further transactions. Before the fix the other recipients
// were dropped with exit 0 and nothing said; now all 8 get it in 3
// transactions and the outbox is empty.
func TestSendmailTooManyRecipients(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, func(c *server.Config) { c.MaxRecipients = 3 }, nil)
	args := []string{"sendmail", "-C", m.cfg, "-i"}
	var want []string
	for i := range 8 {
		a := fmt.Sprintf("r%d@example.org", i)
		args = append(args, a)
		want = append(want, a)
	}
	r := proc{args: args, env: m.env(), stdin: strings.NewReader("Subject: many\n\nx\n")}.run(t)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("want exit 0 and silence: %s", r)
	}
	msgs, err := m.srv.Messages() // stored before each 250, so all there
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, msg := range msgs {
		if len(msg.To) > 3 {
			t.Errorf("a transaction had %d recipients", len(msg.To))
		}
		got = append(got, msg.To...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("delivered to %v, want %v", got, want)
	}
	m.wantEmptyOutbox(t, "")
}

// TestSendmailDeferredRecipientRequeued: a server that answers 450 to one
// RCPT and takes the other: the accepted recipient gets the message, the
// deferred one is queued again on its own (not dropped, not in failed/,
// and the other not sent twice), stderr says so, and a queue run after
// the server relents delivers it.
func TestSendmailDeferredRecipientRequeued(t *testing.T) {
	t.Parallel()
	const later = "later@example.org"
	var relent atomic.Bool
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == later && !relent.Load() {
				return &server.Reply{Code: 450, Enhanced: [3]int{4, 2, 1}, Text: "mailbox busy, try later"}
			}
			return nil
		}
	}, nil)
	logfile := filepath.Join(t.TempDir(), "log")
	r := proc{args: []string{"sendmail", "-C", m.cfg, "--logfile=" + logfile, "-i", "ok@example.org", later}, env: m.env(),
		stdin: strings.NewReader("Subject: deferred recipient\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, later) || !strings.Contains(r.stderr, "450") || !strings.Contains(r.stderr, "queued again") {
		t.Errorf("want exit 0 and the deferred recipient named: %s", r)
	}
	data, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if f := logFields(t, strings.TrimSuffix(string(data), "\n")); !strings.Contains(f["errormsg"], later) {
		t.Errorf("the log line does not name the deferred recipient: %v", f)
	}
	q := m.list(t)
	if len(q.Failed) != 0 || len(q.Queued) != 1 || !slices.Equal(q.Queued[0].Recipients, []string{later}) {
		t.Fatalf("want one item queued for %s only: %+v", later, q)
	}
	relent.Store(true)
	if r := (proc{args: []string{"queue", "flush"}, env: m.env()}).run(t); r.code != 0 {
		t.Fatalf("queue flush: %s", r)
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
	if !slices.Equal(got, []string{later, "ok@example.org"}) {
		t.Errorf("delivered to %v, want each recipient once", got)
	}
	m.wantEmptyOutbox(t, "")
}

// TestSendmailFurtherTransactionNoReply: a recipient refused with 452 "too
// many recipients" while the other took the message, and the further
// transaction for it gets no reply (the server stalls past the timeout).
// No server refused that recipient: before the fix it was reported as
// refused for good (exit 65, the whole message in failed/, where a retry
// would send it to the other recipient twice); now it is queued again on
// its own, as a 4xx deferral is, and delivered by a later queue run.
func TestSendmailFurtherTransactionNoReply(t *testing.T) {
	t.Parallel()
	var mails atomic.Int32
	var stall atomic.Bool
	stall.Store(true)
	m := newMailbox(t, func(c *server.Config) {
		c.MaxRecipients = 1
		c.RejectMail = func(string) *server.Reply {
			if mails.Add(1) == 2 && stall.Load() {
				time.Sleep(6 * time.Second) // past the client's timeout
			}
			return nil
		}
	}, nil)
	data, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.cfg, []byte(strings.Replace(string(data), "timeout 30", "timeout 2", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "one@example.org", "two@example.org"}, env: m.env(),
		stdin: strings.NewReader("Subject: stalled\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stderr, "two@example.org deferred (no reply") {
		t.Errorf("want exit 0 and two@example.org named as queued again: %s", r)
	}
	q := m.list(t)
	if len(q.Failed) != 0 || len(q.Queued) != 1 || !slices.Equal(q.Queued[0].Recipients, []string{"two@example.org"}) {
		t.Fatalf("want one item queued for two@example.org only: %+v", q)
	}
	stall.Store(false)
	if r := (proc{args: []string{"queue", "flush"}, env: m.env()}).run(t); r.code != 0 {
		t.Fatalf("queue flush: %s", r)
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
	if !slices.Equal(got, []string{"one@example.org", "two@example.org"}) {
		t.Errorf("delivered to %v, want each recipient once", got)
	}
}
