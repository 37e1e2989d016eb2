package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// When a session ends mid-batch (421 to the end of one message's data,
// RFC 5321 section 3.8), queue run defers that message, reconnects for
// the rest, and the new connection resumes the TLS session of the first
// (the run shares one session cache). The message whose envelope shared
// the 421's flight is delivered on the new connection.
func TestQueueRunReconnectResumes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *server.Config) {
		c.RejectData = func(env server.Envelope) *server.Reply {
			if env.To[0] == "busy@example.org" {
				return &server.Reply{Code: 421, Enhanced: [3]int{4, 3, 2}, Text: "closing"}
			}
			return nil
		}
	})
	proxy := newStallProxy(t, srv.SMTPAddr())
	m := &mailbox{srv: srv, cfg: writeMsmtprc(t, srv, proxy.ln.Addr().String()), queue: filepath.Join(t.TempDir(), "queue")}
	for _, rcpt := range []string{"a@example.org", "busy@example.org", "b@example.org"} {
		r := proc{args: []string{"sendmail", "-C", m.cfg, "-odq", "-i", rcpt}, env: m.env(),
			stdin: strings.NewReader("Subject: reconnect\n\nfor " + rcpt + "\n")}.run(t)
		if r.code != 0 {
			t.Fatal(r)
		}
	}
	r := proc{args: []string{"queue", "run", "--json", "--parallel", "1", "--transcript", "-"}, env: m.env()}.run(t)
	var out struct {
		Stats struct{ Delivered, Failed, Deferred int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if out.Stats.Delivered != 2 || out.Stats.Deferred != 1 || out.Stats.Failed != 0 {
		t.Errorf("stats %+v, want 2 delivered and 1 deferred: %s", out.Stats, r)
	}
	if n := proxy.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	if n := strings.Count(r.stderr, ", resumed"); n != 1 {
		t.Errorf("%d resumed handshakes, want 1 (the reconnect):\n%s", n, r.stderr)
	}
	q := m.list(t)
	if len(q.Queued) != 1 || q.Queued[0].Recipients[0] != "busy@example.org" {
		t.Errorf("want only busy@ left queued: %+v", q)
	}
	if got := len(waitMessages(t, srv, 2)); got != 2 {
		t.Errorf("%d messages stored, want 2", got)
	}
}
