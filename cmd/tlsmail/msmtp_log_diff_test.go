package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// TestMsmtpLogDifferences locks in, side by side with msmtp 1.8.23, the
// README's differences in msmtp's log line: "a space in host, user, from
// or recipients is written ?" (msmtp writes it as is, so a quoted local
// part splits the field), and "a temporary failure adds where the message
// was kept" to errormsg (msmtp exits 75 and keeps nothing; tlsmail exits
// 0 with the message in the outbox). The other fields agree
// (TestMsmtpLogLine).
func TestMsmtpLogDifferences(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)

	log := filepath.Join(t.TempDir(), "log")
	ms, tm := runBoth(t, m, msmtp, []string{"--logfile=" + log, "-C", m.cfg, "-f", `"x y"@example.com`, "bob@example.org"}, "Subject: s\n\nx\n")
	lines := logLines(t, log)
	if ms.code != 0 || tm.code != 0 || len(lines) != 2 {
		t.Fatalf("quoted sender: msmtp exit %d (%s), tlsmail exit %d (%s), log %q", ms.code, ms.stderr, tm.code, tm.stderr, lines)
	}
	if !strings.Contains(lines[0], ` from="x y"@example.com `) {
		t.Errorf("msmtp's line does not hold the space (the README says it does): %s", lines[0])
	}
	if f := logFields(t, lines[1]); f["from"] != "x?y@example.com" || f["recipients"] != "bob@example.org" {
		t.Errorf("tlsmail's line: from %q recipients %q, want x?y@example.com and bob@example.org: %s", f["from"], f["recipients"], lines[1])
	}

	// A port nothing listens on: a temporary failure.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := m.configWith(t, "port "+portOf(t, closed.Addr().String())+"\n")
	closed.Close()
	log = filepath.Join(t.TempDir(), "log")
	var code [2]int
	for i, p := range []proc{{bin: msmtp}, {args: []string{"sendmail"}}} {
		p.args = append(p.args, "-C", down, "--logfile="+log, "bob@example.org")
		p.env, p.stdin = m.env(), strings.NewReader("Subject: s\n\nx\n")
		code[i] = p.run(t).code
	}
	lines = logLines(t, log)
	if code[0] != exitTempFail || code[1] != 0 || len(lines) != 2 {
		t.Fatalf("server down: msmtp exit %d (want 75), tlsmail exit %d (want 0), log %q", code[0], code[1], lines)
	}
	q := m.list(t)
	if len(q.Queued) != 1 {
		t.Fatalf("server down: tlsmail's outbox holds %d messages, want 1", len(q.Queued))
	}
	lm, lt := logFields(t, lines[0]), logFields(t, lines[1])
	if lm["exitcode"] != "EX_TEMPFAIL" || lt["exitcode"] != "EX_TEMPFAIL" || strings.Contains(lm["errormsg"], "outbox") {
		t.Errorf("server down: msmtp %v, tlsmail %v", lm, lt)
	}
	if id := q.Queued[0].ID; !strings.Contains(lt["errormsg"], "kept in the outbox as "+id) {
		t.Errorf("server down: tlsmail's errormsg does not say the message was kept as %s: %q", id, lt["errormsg"])
	}
}
