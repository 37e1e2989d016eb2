package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// These tests run Debian's msmtp and tlsmail side by side against the same
// embedded server, with the same configuration and command line, and
// compare what the server received (issue 14).

// TestMsmtpLoneDotIsData pipes a message holding a line with only "."
// into msmtp and into tlsmail without -i (mutt's `set sendmail`, logwatch
// -t): msmtp never ends the input at a dot, so neither may tlsmail — the
// text after the dot must reach the server (issue 14 item 6).
func TestMsmtpLoneDotIsData(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(tlsmailBin, link); err != nil {
		t.Skipf("cannot make a symlink here: %v", err)
	}
	for i, p := range []proc{
		{bin: msmtp, args: []string{"-C", m.cfg, "-t"}},
		{args: []string{"sendmail", "-C", m.cfg, "-t"}},
		{bin: link, args: []string{"-C", m.cfg, "bob@example.org"}},
		{bin: msmtp, args: []string{"-C", m.cfg, "bob@example.org"}},
	} {
		p.env = m.env()
		p.stdin = strings.NewReader("To: bob@example.org\nSubject: dot\n\nbefore\n.\nafter the lone dot\n.\n")
		if r := p.run(t); r.code != 0 {
			t.Fatalf("%s %s: %s", p.bin, p.args, r)
		}
		data, err := waitMessages(t, m.srv, i+1)[i].Data()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("before\r\n.\r\nafter the lone dot\r\n.\r\n")) {
			t.Errorf("%s %s: the text after the lone dot is lost:\n%s", p.bin, p.args, data)
		}
	}
}

// compareDelivered runs each invocation with msmtp and with tlsmail
// (`tlsmail sendmail` and the same arguments) on the same server and
// returns, per run, the envelope recipients the server received (sorted:
// msmtp reverses an alias's list) and the exit code.
type delivered struct {
	code   int
	stderr string
	rcpt   string // sorted, comma-separated
	data   []byte
}

func runBoth(t *testing.T, m *mailbox, msmtp string, args []string, stdin string) (ms, tm delivered) {
	t.Helper()
	for i, p := range []proc{
		{bin: msmtp, args: args},
		{args: append([]string{"sendmail"}, args...)},
	} {
		before := storedCount(t, m.srv)
		p.env = m.env()
		p.stdin = strings.NewReader(stdin)
		r := p.run(t)
		d := delivered{code: r.code, stderr: r.stderr}
		if r.code == 0 {
			msg := waitMessages(t, m.srv, before+1)[before]
			to := append([]string(nil), msg.To...)
			sort.Strings(to)
			d.rcpt = strings.Join(to, ",")
			var err error
			if d.data, err = msg.Data(); err != nil {
				t.Fatal(err)
			}
		} else if storedCount(t, m.srv) != before {
			t.Errorf("%s %q: exit %d and yet a message was stored", p.bin, p.args, r.code)
		}
		if i == 0 {
			ms = d
		} else {
			tm = d
		}
	}
	return ms, tm
}

// TestMsmtpLocalRecipients: system mail to local names, as cron,
// logwatch, unattended-upgrades and mdadm/smartd (through mail(1)) send
// it, goes through the account's aliases file (its default entry too)
// with tlsmail as with msmtp; without an aliases file, or a name neither
// an alias nor a default matches, the bare name goes to the server
// (issue 14 items 1 and 2).
func TestMsmtpLocalRecipients(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	aliases := writeFile(t, "aliases", []byte("# system mail\nroot: admin@example.com, ops@example.org # both\npostmaster: root\n"), 0o644)
	withDefault := writeFile(t, "aliases", []byte("root: admin@example.com\ndefault: catchall@example.net\n"), 0o644)
	cfgs := map[string]string{
		"aliases": writeFile(t, "msmtprc", append(append([]byte(nil), base...), "aliases "+aliases+"\n"...), 0o600),
		"default": writeFile(t, "msmtprc", append(append([]byte(nil), base...), "aliases "+withDefault+"\n"...), 0o600),
		"none":    m.cfg,
		"missing": writeFile(t, "msmtprc", append(append([]byte(nil), base...), "aliases "+filepath.Join(t.TempDir(), "nope")+"\n"...), 0o600),
	}
	cron := "Subject: Cron <root@host> run-parts /etc/cron.daily\n\nout\n"
	logwatch := "To: root\nFrom: logwatch@example.com\nSubject: Logwatch for host\n\nreport\n"
	tests := []struct {
		name, cfg string
		args      []string
		stdin     string
		want      string // the recipients, sorted; "" for a failure
		code      int
	}{
		{"cron", "aliases", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"}, cron, "admin@example.com,ops@example.org", 0},
		{"logwatch -t To: root", "aliases", []string{"-t"}, logwatch, "admin@example.com,ops@example.org", 0},
		{"mail(1) -i -- root", "aliases", []string{"-i", "--", "root"}, "Subject: mdadm\nTo: root\n\nDegradedArray\n", "admin@example.com,ops@example.org", 0},
		{"chained alias", "aliases", []string{"postmaster"}, cron, "admin@example.com,ops@example.org", 0},
		// The embedded server, like most submission servers, refuses a
		// bare name (501): both programs send it and exit 65.
		{"no alias, no default: as is", "aliases", []string{"www-data"}, cron, "", 65},
		{"default entry", "default", []string{"-i", "www-data", "bob@example.org"}, cron, "bob@example.org,catchall@example.net", 0},
		{"alias after a full address", "default", []string{"bob@example.org", "root"}, cron, "admin@example.com,bob@example.org", 0},
		{"case matters", "default", []string{"ROOT"}, cron, "catchall@example.net", 0},
		{"no aliases file: as is", "none", []string{"root"}, cron, "", 65},
		{"full address untouched", "aliases", []string{"bob@example.org"}, cron, "bob@example.org", 0},
		{"missing aliases file, local name", "missing", []string{"root"}, cron, "", 78},
		{"missing aliases file, full address", "missing", []string{"bob@example.org"}, cron, "bob@example.org", 0},
	}
	for _, tc := range tests {
		args := append([]string{"-C", cfgs[tc.cfg]}, tc.args...)
		ms, tm := runBoth(t, m, msmtp, args, tc.stdin)
		if ms.code != tc.code || ms.rcpt != tc.want {
			t.Errorf("%s: msmtp exit %d recipients %q; the test expects exit %d %q", tc.name, ms.code, ms.rcpt, tc.code, tc.want)
		}
		if tm.code != ms.code || tm.rcpt != ms.rcpt {
			t.Errorf("%s: tlsmail exit %d recipients %q, msmtp exit %d %q", tc.name, tm.code, tm.rcpt, ms.code, ms.rcpt)
		}
		if tc.name == "logwatch -t To: root" && !bytes.Contains(tm.data, []byte("\r\nTo: root\r\n")) && !bytes.HasPrefix(tm.data, []byte("To: root\r\n")) {
			t.Errorf("%s: the To field was changed:\n%s", tc.name, tm.data)
		}
	}
}

// TestSendmailAliasesBeyondMsmtp covers what msmtp 1.8.23 gets wrong and
// tlsmail does deliberately differently: every local recipient of a
// command line is expanded (msmtp expands the first of two adjacent local
// names and sends the second as is), and an alias loop is exit 78 with
// the file named, before anything is queued.
func TestSendmailAliasesBeyondMsmtp(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	aliases := writeFile(t, "aliases", []byte("root: admin@example.com\nops: ops@example.org\nloop1: loop2\nloop2: loop1\n"), 0o644)
	cfg := writeFile(t, "msmtprc", append(base, "aliases "+aliases+"\n"...), 0o600)
	r := proc{args: []string{"sendmail", "-C", cfg, "-i", "root", "ops"}, env: m.env(), stdin: strings.NewReader("Subject: two\n\nx\n")}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	if got := strings.Join(waitMessages(t, m.srv, 1)[0].To, ","); got != "admin@example.com,ops@example.org" {
		t.Errorf("recipients %q", got)
	}
	r = proc{args: []string{"sendmail", "-C", cfg, "loop1"}, env: m.env(), stdin: strings.NewReader("Subject: loop\n\nx\n")}.run(t)
	if r.code != 78 || !strings.Contains(r.stderr, aliases) || !strings.Contains(r.stderr, "too many redirects") {
		t.Errorf("alias loop: %s", r)
	}
	if q := m.list(t); len(q.Queued)+len(q.Failed) != 0 {
		t.Errorf("something was queued: %+v", q)
	}
}
