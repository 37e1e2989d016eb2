package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
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

// delivered is what one run of runBoth left: its exit code and stderr
// and, when it succeeded, what the server stored.
type delivered struct {
	code   int
	stderr string
	rcpt   string // sorted, comma-separated
	data   []byte
	msg    server.Message // what the server stored (sender, EHLO name)
}

// runBoth runs one invocation with msmtp and with tlsmail (`tlsmail
// sendmail` and the same arguments) on the same server and returns, per
// run, the exit code and what the server received (the envelope
// recipients sorted: msmtp reverses an alias's list).
func runBoth(t *testing.T, m *mailbox, msmtp string, args []string, stdin string) (ms, tm delivered) {
	t.Helper()
	return runBothEnv(t, m, msmtp, args, stdin, nil)
}

// runBothEnv is runBoth with extra environment variables for both.
func runBothEnv(t *testing.T, m *mailbox, msmtp string, args []string, stdin string, env []string) (ms, tm delivered) {
	t.Helper()
	for i, p := range []proc{
		{bin: msmtp, args: args},
		{args: append([]string{"sendmail"}, args...)},
	} {
		before := storedCount(t, m.srv)
		p.env = m.env(env...)
		p.stdin = strings.NewReader(stdin)
		r := p.run(t)
		d := delivered{code: r.code, stderr: r.stderr}
		if r.code == 0 {
			msg := waitMessages(t, m.srv, before+1)[before]
			to := append([]string(nil), msg.To...)
			sort.Strings(to)
			d.rcpt = strings.Join(to, ",")
			d.msg = msg
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
	aliases := writeFile(t, "aliases", []byte("# system mail\nroot: admin@example.com, ops@example.org # both\npostmaster: root\n"), 0o644)
	withDefault := writeFile(t, "aliases", []byte("root: admin@example.com\ndefault: catchall@example.net\n"), 0o644)
	cfgs := map[string]string{
		"aliases": m.configWith(t, "aliases "+aliases+"\n"),
		"default": m.configWith(t, "aliases "+withDefault+"\n"),
		"none":    m.cfg,
		"missing": m.configWith(t, "aliases "+filepath.Join(t.TempDir(), "nope")+"\n"),
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
	aliases := writeFile(t, "aliases", []byte("root: admin@example.com\nops: ops@example.org\nloop1: loop2\nloop2: loop1\n"), 0o644)
	cfg := m.configWith(t, "aliases "+aliases+"\n")
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
	m.wantEmptyOutbox(t, "")
}

// TestMsmtpConfigLocations: without -C, msmtp and tlsmail sendmail find
// the same user file: ~/.msmtprc, else $XDG_CONFIG_HOME/msmtp/config
// (~/.msmtprc first when both exist), and deliver with it (issue 14
// item 3). msmtp's system file (/etc/msmtprc) cannot be redirected for a
// test; TestSendmailSystemConfig covers tlsmail's.
func TestMsmtpConfigLocations(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(base), "from ann@example.com", "from xdg@example.com", 1)
	put := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dotOnly, xdgOnly, both, xdgDefault := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	put(filepath.Join(dotOnly, ".msmtprc"), string(base))
	put(filepath.Join(xdgOnly, "xdg", "msmtp", "config"), other)
	put(filepath.Join(both, ".msmtprc"), string(base))
	put(filepath.Join(both, "xdg", "msmtp", "config"), other)
	put(filepath.Join(xdgDefault, ".config", "msmtp", "config"), other)
	tests := []struct {
		name, home string
		xdg        bool
		wantFrom   string
	}{
		{"~/.msmtprc", dotOnly, false, "ann@example.com"},
		{"$XDG_CONFIG_HOME/msmtp/config", xdgOnly, true, "xdg@example.com"},
		{"both: ~/.msmtprc wins", both, true, "ann@example.com"},
		{"~/.config/msmtp/config", xdgDefault, false, "xdg@example.com"},
	}
	for _, tc := range tests {
		env := []string{"HOME=" + tc.home}
		if tc.xdg {
			env = append(env, "XDG_CONFIG_HOME="+filepath.Join(tc.home, "xdg"))
		}
		for _, p := range []proc{{bin: msmtp, args: []string{"-t"}}, {args: []string{"sendmail", "-t"}}} {
			before := storedCount(t, m.srv)
			p.env = m.env(env...)
			p.stdin = strings.NewReader("To: bob@example.org\nSubject: " + tc.name + "\n\nx\n")
			if r := p.run(t); r.code != 0 {
				t.Errorf("%s: %s %q: %s", tc.name, p.bin, p.args, r)
				continue
			}
			if got := waitMessages(t, m.srv, before+1)[before].From; got != tc.wantFrom {
				t.Errorf("%s: %s %q sent from %s, want %s (the wrong file was read)", tc.name, p.bin, p.args, got, tc.wantFrom)
			}
		}
	}
}

// TestMsmtpEnvironmentServer: with no configuration file, msmtp and
// tlsmail take the server from SMTPSERVER and the sender from EMAIL
// (port 25, no TLS, no authentication, as msmtp does). The server listens
// on port 25 of a loopback address of its own, so the test needs the
// right to bind port 25 (root) and is skipped without it.
func TestMsmtpEnvironmentServer(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	addr := fmt.Sprintf("127.%d.%d.%d", 20+os.Getpid()%200, 14, 25)
	ln, err := net.Listen("tcp", addr+":25")
	if err != nil {
		t.Skipf("cannot listen on %s:25 (needs root): %v", addr, err)
	}
	ln.Close()
	srv := startServer(t, func(c *server.Config) {
		c.SMTPAddr = addr + ":25"
		c.SMTPSAddr = ""
		c.Users = nil
	})
	queue := filepath.Join(t.TempDir(), "queue")
	for i, p := range []proc{{bin: msmtp, args: []string{"bob@example.org"}}, {args: []string{"sendmail", "bob@example.org"}}} {
		p.env = []string{"SMTPSERVER=" + addr, "EMAIL=env@example.com", "TLSMAIL_QUEUE_DIR=" + queue, "TLSMAIL_SYSTEM_CONFIG=" + filepath.Join(t.TempDir(), "none")}
		p.stdin = strings.NewReader("Subject: env\n\nx\n")
		if r := p.run(t); r.code != 0 {
			t.Fatalf("%s %q: %s", p.bin, p.args, r)
		}
		if msg := waitMessages(t, srv, i+1)[i]; msg.From != "env@example.com" || strings.Join(msg.To, ",") != "bob@example.org" {
			t.Errorf("%s: envelope %s -> %q", p.bin, msg.From, msg.To)
		}
	}
}

// TestSendmailSystemConfig: tlsmail reads the system file (here named by
// TLSMAIL_SYSTEM_CONFIG, /etc/msmtprc by default) as msmtp does: alone
// when there is no user file, and under the user file, whose accounts
// replace the system file's of the same name; -v says which file was used.
func TestSendmailSystemConfig(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	system := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), "from ann@example.com", "from system@example.com", 1)+
		"account cron : local\nfrom cron@example.com\n"), 0o600)
	home := t.TempDir()
	run := func(args ...string) result {
		return proc{args: append([]string{"sendmail"}, args...), env: m.env("HOME="+home, "TLSMAIL_SYSTEM_CONFIG="+system),
			stdin: strings.NewReader("Subject: system\n\nx\n")}.run(t)
	}
	r := run("-v", "bob@example.org")
	if r.code != 0 || !strings.Contains(r.stderr, "using account default from "+system) {
		t.Fatalf("system file alone: %s", r)
	}
	if got := waitMessages(t, m.srv, 1)[0].From; got != "system@example.com" {
		t.Errorf("system file alone: sent from %s", got)
	}
	user := filepath.Join(home, ".msmtprc")
	if err := os.WriteFile(user, base, 0o600); err != nil {
		t.Fatal(err)
	}
	r = run("-v", "bob@example.org")
	if r.code != 0 || !strings.Contains(r.stderr, "using account default from "+user) {
		t.Fatalf("user file over system file: %s", r)
	}
	if got := waitMessages(t, m.srv, 2)[1].From; got != "ann@example.com" {
		t.Errorf("the user file's default did not replace the system file's: sent from %s", got)
	}
	r = run("-a", "cron", "bob@example.org")
	if r.code != 0 {
		t.Fatalf("an account only the system file has: %s", r)
	}
	if got := waitMessages(t, m.srv, 3)[2].From; got != "cron@example.com" {
		t.Errorf("account cron: sent from %s", got)
	}
}

// logFields reads an msmtp log line after its time stamp: key=value and
// key='value' pairs.
func logFields(t *testing.T, line string) map[string]string {
	t.Helper()
	i := strings.Index(line, " host=")
	if i < 0 {
		t.Fatalf("not an msmtp log line: %q", line)
	}
	rest := line[i+1:]
	f := map[string]string{"time": line[:i]}
	for rest != "" {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("bad log line %q at %q", line, rest)
		}
		if strings.HasPrefix(v, "'") {
			end := strings.Index(v[1:], "'")
			if end < 0 {
				t.Fatalf("unterminated quote in %q", line)
			}
			f[k], rest = v[1:end+1], strings.TrimPrefix(v[end+2:], " ")
		} else {
			f[k], rest, _ = strings.Cut(v, " ")
		}
	}
	return f
}

// TestMsmtpLogLine runs msmtp and tlsmail with the same configuration
// and log options against the same server and compares their log lines
// field by field (the time stamp, mailsize's value and the texts of
// smtpmsg and errormsg aside): a delivery with STARTTLS and AUTH, a
// wrong password, a recipient the server refuses and a server that is
// down. The password never appears in tlsmail's log (issue 14 item 5).
func TestMsmtpLogLine(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, func(c *server.Config) { c.AuthFailureDelay = -1 }, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "wrong-Secret-9c1d"
	badPassword := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), "password "+testPassword, "password "+wrong, 1)), 0o600)
	// A port nothing listens on: connection refused.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := portOf(t, closed.Addr().String())
	closed.Close()
	downCfg := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), "port "+portOf(t, m.srv.SMTPAddr()), "port "+closedPort, 1)), 0o600)
	tests := []struct {
		name, cfg string
		args      []string
		want      map[string]string // fields both lines must have
	}{
		{"delivered", m.cfg, []string{"-t"}, map[string]string{"tls": "on", "auth": "on", "user": testUser,
			"from": "ann@example.com", "recipients": "bob@example.org", "smtpstatus": "250", "exitcode": "EX_OK"}},
		{"wrong password", badPassword, []string{"bob@example.org"}, map[string]string{"tls": "on", "auth": "on", "user": testUser,
			"recipients": "bob@example.org", "smtpstatus": "535", "exitcode": "EX_NOPERM"}},
		{"refused recipient", m.cfg, []string{"www-data"}, map[string]string{"recipients": "www-data", "smtpstatus": "501", "exitcode": "EX_DATAERR"}},
		{"server down", downCfg, []string{"bob@example.org"}, map[string]string{"recipients": "bob@example.org", "exitcode": "EX_TEMPFAIL"}},
	}
	for _, tc := range tests {
		var lines [2]map[string]string
		for i, p := range []proc{{bin: msmtp}, {args: []string{"sendmail"}}} {
			logfile := filepath.Join(t.TempDir(), "log")
			opt := "--logfile=" + logfile
			if i == 1 && tc.name == "server down" {
				opt = "-X" + logfile // msmtp's short form, in tlsmail only (msmtp's sendmail -X is the same)
			}
			p.args = append(p.args, "-C", tc.cfg, opt)
			p.args = append(p.args, tc.args...)
			p.env = m.env()
			p.stdin = strings.NewReader("To: bob@example.org\nSubject: log " + tc.name + "\n\nx\n")
			r := p.run(t)
			data, err := os.ReadFile(logfile)
			if err != nil {
				t.Fatalf("%s: %s %q wrote no log: %v\n%s", tc.name, p.bin, p.args, err, r)
			}
			if strings.Count(string(data), "\n") != 1 {
				t.Errorf("%s: %s: want one line:\n%s", tc.name, p.bin, data)
			}
			if i == 1 && (strings.Contains(string(data), wrong) || strings.Contains(string(data), testPassword)) {
				t.Errorf("%s: the password is in tlsmail's log:\n%s", tc.name, data)
			}
			lines[i] = logFields(t, strings.TrimSuffix(string(data), "\n"))
		}
		ms, tm := lines[0], lines[1]
		for k, v := range tc.want {
			if ms[k] != v {
				t.Errorf("%s: msmtp's %s=%q; the test expects %q (%v)", tc.name, k, ms[k], v, ms)
			}
		}
		for _, k := range []string{"host", "tls", "auth", "user", "from", "recipients", "smtpstatus", "exitcode"} {
			if ms[k] != tm[k] {
				t.Errorf("%s: %s: tlsmail %q, msmtp %q\nmsmtp:   %v\ntlsmail: %v", tc.name, k, tm[k], ms[k], ms, tm)
			}
		}
		for _, k := range []string{"mailsize", "smtpmsg", "errormsg"} {
			if _, inMsmtp := ms[k]; inMsmtp != (tm[k] != "") {
				t.Errorf("%s: %s present in msmtp's line: %v, in tlsmail's: %q", tc.name, k, inMsmtp, tm[k])
			}
		}
		if len(tm["time"]) != len("Dec 06 19:42:25") {
			t.Errorf("%s: time stamp %q", tc.name, tm["time"])
		}
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestSendmailLogFromConfig: the account's logfile and
// logfile_time_format are honoured (they were accepted and ignored), and
// `logfile -` writes the line to standard output.
func TestSendmailLogFromConfig(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	logfile := filepath.Join(t.TempDir(), "msmtp.log")
	cfg := m.configWith(t, "logfile "+logfile+"\nlogfile_time_format %Y-%m-%d\n")
	day := time.Now().Format("2006-01-02") // the run may end on the next day
	r := proc{args: []string{"sendmail", "-C", cfg, "bob@example.org"}, env: m.env(), stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	data, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	f := logFields(t, strings.TrimSuffix(string(data), "\n"))
	if (f["time"] != day && f["time"] != time.Now().Format("2006-01-02")) || f["exitcode"] != "EX_OK" || f["recipients"] != "bob@example.org" {
		t.Errorf("log line %q", data)
	}
	stdoutCfg := m.configWith(t, "logfile -\n")
	r = proc{args: []string{"sendmail", "-C", stdoutCfg, "bob@example.org"}, env: m.env(), stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, " host=127.0.0.1 tls=on auth=on user=ann from=ann@example.com recipients=bob@example.org ") {
		t.Errorf("logfile -: %s", r)
	}
}

// TestMsmtpLongOptions runs msmtp's own command lines through msmtp and
// tlsmail against one server (issue 14 item 7): an account made only of
// options (--host ... --passwordeval, no configuration file read), a
// file's account changed by an option (--port), --read-envelope-from
// choosing the account by the From field, and --aliases.
func TestMsmtpLongOptions(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, m.srv.SMTPAddr())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := portOf(t, closed.Addr().String())
	closed.Close()
	wrongPort := writeFile(t, "msmtprc", []byte(strings.Replace(string(base), "port "+port, "port "+closedPort, 1)), 0o600)
	twoAccounts := m.configWith(t, "\naccount carol : local\nfrom carol@example.com\n")
	aliases := writeFile(t, "aliases", []byte("root: admin@example.com\n"), 0o644)
	passFile := writeFile(t, "pass", []byte(testPassword+"\n"), 0o600)
	hostOnly := []string{"--host=127.0.0.1", "--port=" + port, "--tls", "--tls-starttls=on", "--tls-trust-file=" + m.srv.CAFile(),
		"--auth=on", "--user=" + testUser, "--passwordeval=cat " + passFile, "--from=ann@example.com", "--domain=client.example", "--timeout=30"}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantFrom string
		wantTo   string
	}{
		{"--host and friends, no file", append(append([]string{}, hostOnly...), "bob@example.org"), "Subject: a\n\nx\n", "ann@example.com", "bob@example.org"},
		{"--port over the file's", []string{"-C", wrongPort, "--port", port, "bob@example.org"}, "Subject: b\n\nx\n", "ann@example.com", "bob@example.org"},
		{"--read-envelope-from", []string{"-C", twoAccounts, "--read-envelope-from", "-t"}, "From: Carol <carol@example.com>\nTo: bob@example.org\nSubject: c\n\nx\n", "carol@example.com", "bob@example.org"},
		{"--aliases", []string{"-C", m.cfg, "--aliases=" + aliases, "root"}, "Subject: d\n\nx\n", "ann@example.com", "admin@example.com"},
	}
	for _, tc := range tests {
		for _, p := range []proc{{bin: msmtp, args: tc.args}, {args: append([]string{"sendmail"}, tc.args...)}} {
			before := storedCount(t, m.srv)
			p.env = m.env()
			p.stdin = strings.NewReader(tc.stdin)
			if r := p.run(t); r.code != 0 {
				t.Errorf("%s: %s: %s", tc.name, p.bin, r)
				continue
			}
			msg := waitMessages(t, m.srv, before+1)[before]
			if msg.From != tc.wantFrom || strings.Join(msg.To, ",") != tc.wantTo || msg.AuthUser != testUser || msg.TLS == nil {
				t.Errorf("%s: %s: stored from %s to %q auth %q tls %v", tc.name, p.bin, msg.From, msg.To, msg.AuthUser, msg.TLS != nil)
			}
		}
	}

	// -P prints the account and sends nothing; the password never shows.
	before := storedCount(t, m.srv)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-P", "bob@example.org"}, env: m.env()}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "using account default from "+m.cfg) || !strings.Contains(r.stdout, "password = *") ||
		strings.Contains(r.stdout+r.stderr, testPassword) {
		t.Errorf("-P: %s", r)
	}
	if storedCount(t, m.srv) != before {
		t.Error("-P sent a message")
	}
	// What cannot be supported is refused, before anything is queued:
	// options tlsmail does not implement are usage errors (msmtp runs
	// them: 68 here, no server name resolves), settings it refuses are
	// configuration errors (msmtp's 78 for lmtp, here its missing port).
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--serverinfo"}, exitUsage}, {[]string{"-S"}, exitUsage}, {[]string{"--rmqs=example.com"}, exitUsage},
		{[]string{"--configure=a@example.com"}, exitUsage}, {[]string{"--host=h", "-a", "x", "b@example.org"}, exitUsage},
		{[]string{"--proxy-host=socks.example.com", "bob@example.org"}, exitConfig}, {[]string{"--protocol=lmtp", "bob@example.org"}, exitConfig},
	} {
		r := proc{args: append([]string{"sendmail", "-C", m.cfg}, tc.args...), env: m.env(), stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
		if r.code != tc.code || !strings.Contains(r.stderr, "fix:") {
			t.Errorf("%q: want a clear refusal (exit %d with a fix): %s", tc.args, tc.code, r)
		}
	}
	// A value an option does not take: exit 64 naming the option, side by
	// side with msmtp ("invalid argument abc for --port"); before, tlsmail
	// exited 78 with the configuration command's name.
	// An empty value attached to an on/off option (--tls=) is one too: it
	// meant on in tlsmail, silently.
	for _, opt := range []string{"--port=abc", "--timeout=x", "--tls=maybe", "--tls-starttls=x", "--auth=bogus", "--tls-certcheck=maybe",
		"--tls=", "--tls-starttls=", "--tls-certcheck=", "--auto-from="} {
		name, val, _ := strings.Cut(opt, "=")
		want := "invalid argument " + val + " for " + name
		for _, bin := range []string{msmtp, ""} {
			args := []string{"-C", m.cfg, opt, "bob@example.org"}
			if bin == "" {
				args = append([]string{"sendmail"}, args...)
			}
			r := proc{bin: bin, args: args, env: m.env(), stdin: strings.NewReader("Subject: x\n\nx\n")}.run(t)
			if r.code != exitUsage || !strings.Contains(r.stderr, want) {
				t.Errorf("%s %s: want exit %d and %q: %s", bin, opt, exitUsage, want, r)
			}
		}
	}
	m.wantEmptyOutbox(t, "")
}

// TestSendmailCronSystemMail is the msmtp-mta setup the issue names: tlsmail
// installed as sendmail (a symbolic link), no user file, the system file
// holding the account with `aliases` and `logfile`, and cron's exact
// command line for root's mail: it reaches the alias's address, and the
// log says so.
func TestSendmailCronSystemMail(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	aliases := writeFile(t, "aliases", []byte("# /etc/aliases\npostmaster: root\nroot: admin@example.com\ndefault: admin@example.com\n"), 0o644)
	logfile := filepath.Join(t.TempDir(), "msmtp.log")
	system := m.configWith(t, "aliases "+aliases+"\nlogfile "+logfile+"\n")
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(tlsmailBin, link); err != nil {
		t.Skipf("cannot make a symlink here: %v", err)
	}
	r := proc{bin: link, args: []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"},
		env:   m.env("TLSMAIL_SYSTEM_CONFIG=" + system),
		stdin: strings.NewReader("Content-Type: text/plain; charset=UTF-8\nSubject: Cron <root@host> test -x /usr/sbin/anacron\nTo: root\n\nrun-parts: /etc/cron.daily/logrotate exited with return code 1\n")}.run(t)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("cron: %s", r)
	}
	msg := waitMessages(t, m.srv, 1)[0]
	data, err := msg.Data()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(msg.To, ",") != "admin@example.com" || !bytes.Contains(data, []byte("From: \"CronDaemon\" <ann@example.com>\r\n")) {
		t.Errorf("stored %s -> %q:\n%s", msg.From, msg.To, data)
	}
	log, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if f := logFields(t, strings.TrimSuffix(string(log), "\n")); f["recipients"] != "admin@example.com" || f["exitcode"] != "EX_OK" {
		t.Errorf("log %q", log)
	}
}

// TestMsmtpAccountLogAndAliasesInSend: an msmtp user's account with
// `logfile` and `aliases` is honoured by `tlsmail send --config` as by
// msmtp (whose every send is sendmail mode): mail to the local name root
// goes to its alias, and the account's log gets msmtp's line, whose fields
// match msmtp's own for the same account and recipient, for a direct send
// and for `send --queue`. Before, send ignored both keys: root was refused
// as no address and nothing was logged.
func TestMsmtpAccountLogAndAliasesInSend(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	aliases := writeFile(t, "aliases", []byte("root: admin@example.org\n"), 0o644)
	cfgWithLog := func(logfile string) string {
		return m.configWith(t, "aliases "+aliases+"\nlogfile "+logfile+"\n")
	}
	readLine := func(who, logfile string) map[string]string {
		t.Helper()
		data, err := os.ReadFile(logfile)
		if err != nil || strings.Count(string(data), "\n") != 1 {
			t.Fatalf("%s: want one log line in %s: %q, %v", who, logfile, data, err)
		}
		return logFields(t, strings.TrimSuffix(string(data), "\n"))
	}
	msLog := filepath.Join(t.TempDir(), "log")
	cfg := cfgWithLog(msLog)
	r := proc{bin: msmtp, args: []string{"-C", cfg, "root"}, env: m.env(), stdin: strings.NewReader("To: root\nSubject: s\n\nb\n")}.run(t)
	if r.code != 0 {
		t.Fatalf("msmtp: %s", r)
	}
	ms := readLine("msmtp", msLog)
	if ms["recipients"] != "admin@example.org" || ms["exitcode"] != "EX_OK" {
		t.Fatalf("msmtp's log line: %v", ms)
	}
	for _, extra := range [][]string{nil, {"--queue"}} {
		logfile := filepath.Join(t.TempDir(), "log")
		cfg := cfgWithLog(logfile)
		before := storedCount(t, m.srv)
		args := append([]string{"send", "--config", cfg, "--to", "root", "--subject", "s", "--body", "b"}, extra...)
		r := proc{args: args, env: m.env()}.run(t)
		if r.code != 0 {
			t.Errorf("%q: %s", args, r)
			continue
		}
		if msg := waitMessages(t, m.srv, before+1)[before]; strings.Join(msg.To, ",") != "admin@example.org" {
			t.Errorf("%q: delivered to %v, want root's alias admin@example.org", args, msg.To)
		}
		tm := readLine("tlsmail send", logfile)
		for _, k := range []string{"host", "tls", "auth", "user", "from", "recipients", "smtpstatus", "exitcode"} {
			if ms[k] != tm[k] {
				t.Errorf("%q: %s: tlsmail %q, msmtp %q\nmsmtp:   %v\ntlsmail: %v", args, k, tm[k], ms[k], ms, tm)
			}
		}
	}
}
