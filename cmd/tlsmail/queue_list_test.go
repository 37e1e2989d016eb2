package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// `queue list --count` counts without listing; `--limit N` shows N and
// says how many there are; the streamed JSON is one valid object.
func TestQueueListCountAndLimit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := submit.Account{Host: "127.0.0.1", Port: 25, Mode: smtp.StartTLS}
	for range 5 {
		if _, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	r := proc{args: []string{"queue", "list", "--count", "--queue-dir", dir}}.run(t)
	if r.code != 0 || r.stdout != "5 queued, 0 failed in "+dir+"\n" {
		t.Errorf("--count: %s", r)
	}
	r = proc{args: []string{"queue", "list", "--count", "--json", "--queue-dir", dir}}.run(t)
	var counts struct{ Queued, Failed int }
	if err := json.Unmarshal([]byte(r.stdout), &counts); err != nil || counts.Queued != 5 || counts.Failed != 0 {
		t.Errorf("--count --json: %v %s", err, r)
	}
	r = proc{args: []string{"queue", "list", "--limit", "2", "--queue-dir", dir}}.run(t)
	if r.code != 0 || strings.Count(r.stdout, "b@example.org") != 2 || !strings.Contains(r.stdout, "(2 of 5 queued messages shown") {
		t.Errorf("--limit 2: %s", r)
	}
	for _, limit := range []string{"0", "3"} {
		r = proc{args: []string{"queue", "list", "--json", "--limit", limit, "--queue-dir", dir}}.run(t)
		var list struct {
			OK     bool
			Dir    string
			Queued []submit.ItemInfo
			Failed []submit.ItemInfo
		}
		want := 5
		if limit == "3" {
			want = 3
		}
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || !list.OK || list.Dir != dir || len(list.Queued) != want || list.Failed == nil {
			t.Errorf("--json --limit %s: %v %s", limit, err, r)
		}
	}
	r = proc{args: []string{"queue", "list", "--limit", "-1", "--queue-dir", dir}}.run(t)
	if r.code != exitUsage {
		t.Errorf("--limit -1: %s", r)
	}
}
