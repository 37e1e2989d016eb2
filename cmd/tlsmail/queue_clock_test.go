package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// queueTo writes one item for the embedded server srv (STARTTLS, its CA,
// no AUTH) into a fresh outbox and returns the directory and the item.
func queueTo(t *testing.T, addr, caFile string) (dir, id string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	s := submit.Account{Host: host, Port: n, Mode: smtp.StartTLS, Trust: submit.Trust{CAFile: caFile}, Timeout: 10 * time.Second}
	id, err = submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
		strings.NewReader("Subject: x\r\n\r\nthe body\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, id
}

// A queued file whose content no longer matches its checksum: queue run
// says once that it is corrupt and moved aside, not also "deferred, next
// attempt 0001-01-01".
func TestQueueRunCorruptItemOneOutcome(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	dir, id := queueTo(t, srv.SMTPAddr(), srv.CAFile())
	p := filepath.Join(dir, "msg", id+".msg")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "the body")
	b[i] = 'T' // the checksum catches it at delivery
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"queue", "run", "--queue-dir", dir}}.run(t)
	if strings.Contains(r.stdout, "deferred  ") || strings.Contains(r.stdout, "0001-01-01") || strings.Count(r.stdout, id) != 1 ||
		!strings.Contains(r.stdout, "content does not match its checksum (not sent; moved to corrupt/)") ||
		!strings.Contains(r.stdout, "corrupt   "+id) || !strings.Contains(r.stdout, "0 deferred") {
		t.Errorf("want one line saying the item is corrupt and nothing deferred: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "corrupt", id+".msg")); err != nil {
		t.Errorf("not moved to corrupt/: %v", err)
	}
}

// The summary's next attempt carries its date: a time alone could be
// today or any other day.
func TestQueueRunSummaryDatesNext(t *testing.T) {
	t.Parallel()
	dir, id := queueTo(t, "127.0.0.1:1", "system")
	next := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	b := []byte(`{"attempts":1,"next_attempt":"` + next.UTC().Format(time.RFC3339) + `"}`)
	if err := os.WriteFile(filepath.Join(dir, "msg", id+".state"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"queue", "run", "--queue-dir", dir}}.run(t)
	want := "next at " + next.Local().Format("2006-01-02 15:04:05")
	if !strings.Contains(r.stdout, want) {
		t.Errorf("want %q: %s", want, r)
	}
	if regexp.MustCompile(`next at \d\d:`).MatchString(r.stdout) {
		t.Errorf("a time without a date: %s", r)
	}
}
