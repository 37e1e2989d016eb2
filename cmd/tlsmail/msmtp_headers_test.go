package main

import (
	"bytes"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// normalized is a delivered message in a form msmtp's and tlsmail's
// copies of the same message compare equal in: the header fields as
// "name: value" (unfolded, names lower case; sorted when sorted is true,
// since tlsmail adds missing fields after the message's own and msmtp
// before them), address fields formatted alike (msmtp writes -F's name
// unquoted: the same address), the values of Date and Message-ID fields
// not in the original input masked (generated); and the body as is.
type normalized struct {
	fields []string
	body   string
}

func normalize(t *testing.T, data []byte, sorted bool, original string) normalized {
	t.Helper()
	head, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		head, body = bytes.TrimSuffix(data, []byte("\r\n")), nil
	}
	var fields []string
	for _, line := range strings.Split(string(head), "\r\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	for i, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		switch name {
		case "date", "message-id":
			if !strings.Contains(original, value) {
				value = "(generated)"
			}
		case "from", "to", "cc", "bcc":
			if list, err := mail.ParseAddressList(value); err == nil && len(list) > 0 {
				var out []string
				for _, a := range list {
					out = append(out, a.String())
				}
				value = strings.Join(out, ", ")
			}
		}
		fields[i] = name + ": " + value
	}
	if sorted {
		sort.Strings(fields)
	}
	return normalized{fields: fields, body: string(body)}
}

func (n normalized) String() string {
	return strings.Join(n.fields, "\n") + "\n\n" + n.body
}

func (n normalized) has(field string) bool {
	for _, f := range n.fields {
		if f == field {
			return true
		}
	}
	return false
}

// TestMsmtpHeaderKeys runs msmtp and tlsmail side by side with msmtp's
// header and sender commands (issue 14 item 8) and compares the envelope
// (sender, recipients, EHLO name), the message and the exit code: Debian's
// allow_from_override off with set_from_header on sends as the configured
// sender whatever -f and From: say; set_from_header auto/on/off,
// set_date_header and set_msgid_header off (and msmtp's old names),
// remove_bcc_headers off (and keepbcc), undisclosed_recipients (and the
// command-line options), and %U, %H, %C, %M in from and domain.
func TestMsmtpHeaderKeys(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	// The lines go to the default account (the file's last).
	cfg := func(lines ...string) string {
		return m.configWith(t, strings.Join(lines, "\n")+"\n")
	}
	const program = "From: Program <prog@example.net>\nTo: bob@example.org\nSubject: s\n\nbody\n"
	const noFrom = "To: bob@example.org\nSubject: s\n\nbody\n"
	const complete = "From: ann@example.com\nTo: bob@example.org\nDate: Fri, 01 Mar 2024 12:30:00 +0100\nMessage-ID: <1@test.invalid>\nSubject: s\n\nbody\n"
	const withBcc = "From: ann@example.com\nTo: bob@example.org\nCc: Carol <carol@example.org>\nBcc: hidden@example.org\nSubject: s\n\nbody\n"
	_, mailnameErr := os.Stat("/etc/mailname")
	tests := []struct {
		name  string
		cfg   string
		args  []string
		env   []string
		stdin string
		code  int
		from  string   // the envelope sender both must use
		helo  string   // the EHLO name, when checked
		has   []string // normalized fields both messages must have
		hasNo []string // field names (with ": ") neither may have
	}{
		{"Debian: allow_from_override off, set_from_header on", cfg("from %U@example.com", "allow_from_override off", "set_from_header on"),
			[]string{"-f", "intruder@example.net", "bob@example.org"}, []string{"USER=joe"}, program, 0,
			"joe@example.com", "", []string{"from: <joe@example.com>"}, []string{"from: \"Program\""}},
		{"allow_from_override off, -F and no From field", cfg("allow_from_override off"),
			[]string{"-F", "Cron Daemon", "-f", "other@example.net", "bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", []string{"from: \"Cron Daemon\" <ann@example.com>"}, nil},
		{"allow_from_override off, --read-envelope-from", cfg("allow_from_override off"),
			[]string{"--read-envelope-from", "-t"}, nil, program, 0,
			"ann@example.com", "", []string{"from: \"Program\" <prog@example.net>"}, nil},
		{"allow_from_override on: -f wins, set_from_header on", cfg("set_from_header on"),
			[]string{"-f", "other@example.net", "bob@example.org"}, nil, program, 0,
			"other@example.net", "", []string{"from: <other@example.net>"}, nil},
		{"set_from_header auto keeps the message's From", m.cfg, []string{"bob@example.org"}, nil, program, 0,
			"ann@example.com", "", []string{"from: \"Program\" <prog@example.net>"}, nil},
		// A From field without an address (PHP's "From: $from" with
		// $from empty) is no From: auto writes the sender's instead.
		{"set_from_header auto, an empty From field", m.cfg, []string{"bob@example.org"}, nil, "From: \nTo: bob@example.org\nSubject: s\n\nbody\n", 0,
			"ann@example.com", "", []string{"from: <ann@example.com>"}, nil},
		{"set_from_header off: no From added", cfg("set_from_header off"), []string{"bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", nil, []string{"from: "}},
		{"add_missing_from_header off", cfg("add_missing_from_header off"), []string{"bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", nil, []string{"from: "}},
		{"--set-from-header=on", m.cfg, []string{"--set-from-header=on", "bob@example.org"}, nil, program, 0,
			"ann@example.com", "", []string{"from: <ann@example.com>"}, nil},
		{"Date and Message-ID added", m.cfg, []string{"bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", []string{"date: (generated)", "message-id: (generated)"}, nil},
		{"set_date_header off, set_msgid_header off", cfg("set_date_header off", "set_msgid_header off"), []string{"bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", nil, []string{"date: ", "message-id: "}},
		{"add_missing_date_header off", cfg("add_missing_date_header off"), []string{"bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", []string{"message-id: (generated)"}, []string{"date: "}},
		{"--set-date-header=off --set-msgid-header=off", m.cfg, []string{"--set-date-header=off", "--set-msgid-header=off", "bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", nil, []string{"date: ", "message-id: "}},
		{"complete message unchanged", cfg("set_from_header auto"), []string{"bob@example.org"}, nil, complete, 0,
			"ann@example.com", "", []string{"date: Fri, 01 Mar 2024 12:30:00 +0100", "message-id: <1@test.invalid>"}, nil},
		{"Bcc removed by default", m.cfg, []string{"-t"}, nil, withBcc, 0,
			"ann@example.com", "", nil, []string{"bcc: "}},
		{"remove_bcc_headers off", cfg("remove_bcc_headers off"), []string{"-t"}, nil, withBcc, 0,
			"ann@example.com", "", []string{"bcc: <hidden@example.org>"}, nil},
		{"keepbcc", cfg("keepbcc"), []string{"-t"}, nil, withBcc, 0,
			"ann@example.com", "", []string{"bcc: <hidden@example.org>"}, nil},
		// msmtp's older option names (--keepbcc from 1.4, the
		// add-missing ones from before 1.8.8) and --connect-timeout.
		{"--keepbcc", m.cfg, []string{"--keepbcc", "-t"}, nil, withBcc, 0,
			"ann@example.com", "", []string{"bcc: <hidden@example.org>"}, nil},
		{"--add-missing-from-header=off --add-missing-date-header=off", m.cfg,
			[]string{"--add-missing-from-header=off", "--add-missing-date-header=off", "--connect-timeout=30", "bob@example.org"}, nil, noFrom, 0,
			"ann@example.com", "", []string{"message-id: (generated)"}, []string{"from: ", "date: "}},
		// A bad argument to these options is a usage error (64), as in
		// msmtp, an empty one included.
		{"--set-date-header=on", m.cfg, []string{"--set-date-header=on", "bob@example.org"}, nil, noFrom, 64, "", "", nil, nil},
		{"--set-from-header= (empty)", m.cfg, []string{"--set-from-header=", "bob@example.org"}, nil, noFrom, 64, "", "", nil, nil},
		{"--undisclosed-recipients=yes", m.cfg, []string{"--undisclosed-recipients=yes", "bob@example.org"}, nil, noFrom, 64, "", "", nil, nil},
		{"--keepbcc=auto", m.cfg, []string{"--keepbcc=auto", "bob@example.org"}, nil, noFrom, 64, "", "", nil, nil},
		{"undisclosed_recipients", cfg("undisclosed_recipients on"), []string{"-t"}, nil, withBcc, 0,
			"ann@example.com", "", []string{"to: undisclosed-recipients:;"}, []string{"cc: ", "bcc: ", "to: <"}},
		{"--undisclosed-recipients, recipients as arguments", m.cfg, []string{"--undisclosed-recipients", "bob@example.org", "dave@example.org"}, nil, withBcc, 0,
			"ann@example.com", "", []string{"to: undisclosed-recipients:;"}, []string{"cc: ", "bcc: ", "to: <"}},
		{"domain %H", cfg("domain %H"), []string{"bob@example.org"}, []string{"HOSTNAME=client.example.test"}, noFrom, 0,
			"ann@example.com", "client.example.test", nil, nil},
		{"domain %C of localhost", cfg("domain %C"), []string{"bob@example.org"}, []string{"HOSTNAME=localhost"}, noFrom, 0,
			"ann@example.com", "localhost", nil, nil},
		{"from %U@%H, -f overrides it", cfg("from %U@%H"), []string{"-f", "f@example.net", "bob@example.org"}, []string{"USER=joe", "HOSTNAME=box.example"}, noFrom, 0,
			"f@example.net", "", []string{"from: <f@example.net>"}, nil},
		{"-f %U@example.net is expanded too", m.cfg, []string{"-f", "%U@example.net", "bob@example.org"}, []string{"USER=joe"}, noFrom, 0,
			"joe@example.net", "", []string{"from: <joe@example.net>"}, nil},
		// '*', '?' and '[' are legal in a local part: -f and what %U
		// brings in (a control character becomes '?') are the sender,
		// not a pattern.
		{"-f with '?' in the local part", m.cfg, []string{"-f", "what?now@example.net", "bob@example.org"}, nil, program, 0,
			"what?now@example.net", "", []string{"from: \"Program\" <prog@example.net>"}, nil},
		{"from %U, a control character in USER, set_from_header on", cfg("from %U@example.com", "set_from_header on"), []string{"bob@example.org"}, []string{"USER=jo\te"}, program, 0,
			"jo?e@example.com", "", []string{"from: <jo?e@example.com>"}, nil},
		// msmtp's obsolete auto_from still decides the sender in
		// 1.8.23: user@maildomain, whatever from and -f say.
		{"auto_from on, maildomain", cfg("auto_from on", "maildomain oursite.example"), []string{"-f", "x@example.net", "bob@example.org"}, []string{"USER=joe"}, program, 0,
			"joe@oursite.example", "", []string{"from: \"Program\" <prog@example.net>"}, nil},
		{"--auto-from --maildomain", m.cfg, []string{"--auto-from", "--maildomain=oursite.example", "bob@example.org"}, []string{"USER=joe"}, noFrom, 0,
			"joe@oursite.example", "", []string{"from: <joe@oursite.example>"}, nil},
		{"from %U@%H", cfg("from %U@%H"), []string{"bob@example.org"}, []string{"LOGNAME=lg", "HOSTNAME=box.example"}, noFrom, 0,
			"lg@box.example", "", []string{"from: <lg@box.example>"}, nil},
	}
	if mailnameErr != nil {
		// Both read /etc/mailname (msmtp's SYSCONFDIR cannot be moved for
		// a test): without it, %M is exit 78 for both.
		tests = append(tests, struct {
			name  string
			cfg   string
			args  []string
			env   []string
			stdin string
			code  int
			from  string
			helo  string
			has   []string
			hasNo []string
		}{"domain %M without /etc/mailname", cfg("domain %M"), []string{"bob@example.org"}, nil, noFrom, 78, "", "", nil, nil})
	}
	for _, tc := range tests {
		args := append([]string{"-C", tc.cfg}, tc.args...)
		ms, tm := runBothEnv(t, m, msmtp, args, tc.stdin, tc.env)
		if ms.code != tc.code {
			t.Errorf("%s: msmtp exit %d (the test expects %d): %s", tc.name, ms.code, tc.code, ms.stderr)
		}
		if tm.code != ms.code {
			t.Errorf("%s: tlsmail exit %d, msmtp %d: %s", tc.name, tm.code, ms.code, tm.stderr)
			continue
		}
		if ms.code != 0 {
			continue
		}
		if ms.msg.From != tc.from || tm.msg.From != ms.msg.From || tm.rcpt != ms.rcpt {
			t.Errorf("%s: envelope: msmtp %s -> %s, tlsmail %s -> %s; the test expects the sender %s", tc.name, ms.msg.From, ms.rcpt, tm.msg.From, tm.rcpt, tc.from)
		}
		if tc.helo != "" && (ms.msg.Helo != tc.helo || tm.msg.Helo != tc.helo) {
			t.Errorf("%s: EHLO msmtp %q tlsmail %q, want %q", tc.name, ms.msg.Helo, tm.msg.Helo, tc.helo)
		}
		// Sorted: tlsmail adds fields after the message's own (see
		// TestMsmtpMatrix's differences).
		nm, nt := normalize(t, ms.data, true, tc.stdin), normalize(t, tm.data, true, tc.stdin)
		if nm.String() != nt.String() {
			t.Errorf("%s: the messages differ\nmsmtp:\n%s\ntlsmail:\n%s", tc.name, nm, nt)
		}
		for _, f := range tc.has {
			if !nm.has(f) {
				t.Errorf("%s: msmtp's message lacks %q (the test expects it):\n%s", tc.name, f, nm)
			}
		}
		for _, f := range tc.hasNo {
			for _, got := range nm.fields {
				if strings.HasPrefix(got, f) {
					t.Errorf("%s: msmtp's message has %q:\n%s", tc.name, got, nm)
				}
			}
		}
	}
}

// TestSendmailMailname: %M is the first line of the file "mailname"
// beside the system configuration file (msmtp's SYSCONFDIR/mailname,
// /etc/mailname), here moved with TLSMAIL_SYSTEM_CONFIG; an empty one is
// exit 78 naming it, before anything is queued.
func TestSendmailMailname(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	base, err := os.ReadFile(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sysdir := t.TempDir()
	system := filepath.Join(sysdir, "msmtprc")
	if err := os.WriteFile(system, append(base, "from %U@%M\ndomain %M\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	mailname := filepath.Join(sysdir, "mailname")
	if err := os.WriteFile(mailname, []byte("mail.example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() result {
		return proc{args: []string{"sendmail", "bob@example.org"}, env: m.env("TLSMAIL_SYSTEM_CONFIG="+system, "USER=joe"),
			stdin: strings.NewReader("Subject: m\n\nx\n")}.run(t)
	}
	if r := run(); r.code != 0 {
		t.Fatal(r)
	}
	if msg := waitMessages(t, m.srv, 1)[0]; msg.From != "joe@mail.example.org" || msg.Helo != "mail.example.org" {
		t.Errorf("sent from %s with EHLO %s", msg.From, msg.Helo)
	}
	if err := os.WriteFile(mailname, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(); r.code != 78 || !strings.Contains(r.stderr, mailname) || !strings.Contains(r.stderr, "fix:") || !strings.Contains(r.stderr, "mailname file") {
		t.Errorf("empty mailname: %s", r)
	}
	m.wantEmptyOutbox(t, "")
}

// TestSendmailQueuedKeepsExpansion: a message only queued (-odq) keeps
// what was expanded and rewritten when it was accepted: the queue run,
// in another environment, still says EHLO with the host name of the
// sendmail run (never "%H") and sends the rewritten header.
func TestSendmailQueuedKeepsExpansion(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	cfg := m.configWith(t, "domain %H\nfrom %U@example.com\nallow_from_override off\nundisclosed_recipients on\n")
	r := proc{args: []string{"sendmail", "-C", cfg, "-odq", "-f", "x@example.net", "-t"}, env: m.env("HOSTNAME=queued.example", "USER=joe"),
		stdin: strings.NewReader("To: bob@example.org\nSubject: q\n\nx\n")}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	if r := (proc{args: []string{"queue", "run"}, env: m.env("HOSTNAME=other.example", "USER=other")}).run(t); r.code != 0 {
		t.Fatal(r)
	}
	msg := waitMessages(t, m.srv, 1)[0]
	data, err := msg.Data()
	if err != nil {
		t.Fatal(err)
	}
	if msg.Helo != "queued.example" || msg.From != "joe@example.com" || !bytes.Contains(data, []byte("\r\nTo: undisclosed-recipients:;\r\n")) ||
		bytes.Contains(data, []byte("bob@example.org")) {
		t.Errorf("EHLO %s, from %s:\n%s", msg.Helo, msg.From, data)
	}
}

// TestSendConfigDomainExpanded: `tlsmail send --config` reads the same
// account and says EHLO with %H expanded (msmtp expands domain in every
// mode), and -P shows the expanded from and domain and the header
// commands as msmtp's --pretend does.
func TestSendConfigDomainExpanded(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	cfg := m.configWith(t, "domain %H\nfrom %U@example.com\nallow_from_override off\nset_from_header on\n")
	r := proc{args: []string{"send", "--config", cfg, "--account", "default", "--from", "ann@example.com", "--to", "bob@example.org", "--subject", "s", "--body", "b"},
		env: m.env("HOSTNAME=send.example")}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	if msg := waitMessages(t, m.srv, 1)[0]; msg.Helo != "send.example" {
		t.Errorf("EHLO %q", msg.Helo)
	}
	r = proc{args: []string{"sendmail", "-C", cfg, "-P", "bob@example.org"}, env: m.env("HOSTNAME=send.example", "USER=joe")}.run(t)
	for _, want := range []string{"\ndomain = send.example\n", "\nfrom = joe@example.com\n", "\nallow_from_override = off\n", "\nset_from_header = on\n",
		"\nset_date_header = auto\n", "\nremove_bcc_headers = on\n", "\nundisclosed_recipients = off\n"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("-P: want %q: %s", want, r)
		}
	}
}

// TestSendmailPretendEnvelopeFrom: -P names the sender the message would
// go out with: the account's from when allow_from_override is off
// (whatever -f says), and -f with %U expanded when it is on, never the
// -f text as typed.
func TestSendmailPretendEnvelopeFrom(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	locked := m.configWith(t, "from %U@example.com\nallow_from_override off\n")
	for _, tc := range []struct {
		cfg, from, want string
	}{
		{locked, "x@example.net", "joe@example.com"},
		{m.cfg, "%U@example.net", "joe@example.net"},
	} {
		r := proc{args: []string{"sendmail", "-C", tc.cfg, "-P", "-f", tc.from, "bob@example.org"}, env: m.env("USER=joe")}.run(t)
		if r.code != 0 || !strings.Contains(r.stdout, "\nenvelope from address = "+tc.want+"\n") || strings.Contains(r.stdout, "= "+tc.from+"\n") {
			t.Errorf("-f %s: want the envelope from address %s: %s", tc.from, tc.want, r)
		}
	}
}

// TestSendmailDomainNotHostName: a domain that is no host name once %H
// is expanded ($HOSTNAME with a blank) is a configuration error (exit 78)
// naming the domain command and the file, not a "--ehlo" flag sendmail
// has not got, and nothing is queued.
func TestSendmailDomainNotHostName(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	cfg := m.configWith(t, "domain %H\n")
	for _, args := range [][]string{
		{"sendmail", "-C", cfg, "bob@example.org"},
		{"send", "--config", cfg, "--account", "default", "--from", "ann@example.com", "--to", "bob@example.org", "--subject", "s", "--body", "b"},
	} {
		r := proc{args: args, env: m.env("HOSTNAME=my laptop"), stdin: strings.NewReader("Subject: s\n\nx\n")}.run(t)
		if r.code != 78 || strings.Contains(r.stderr, "--ehlo") || !strings.Contains(r.stderr, "domain") || !strings.Contains(r.stderr, cfg) {
			t.Errorf("%s: %s", args[0], r)
		}
	}
	m.wantEmptyOutbox(t, "")
}

// TestMsmtpPretendReadEnvelopeFrom: -P --read-envelope-from -t, side by
// side with msmtp: both print msmtp's "envelope from address extracted
// from mail" line and that address as "from", and msmtp's line saying
// where the recipients come from; tlsmail also lists the recipients the
// message would go to, those of the command line and of the To, Cc and
// Bcc fields. Before, tlsmail printed the account's from and only the
// command line's recipient.
func TestMsmtpPretendReadEnvelopeFrom(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	const msg = "From: Ann <ann@example.net>\nTo: bob@example.org, Cy <cy@example.org>\nCc: dee@example.org\nBcc: eve@example.org\nSubject: x\n\nbody\n"
	args := []string{"-C", m.cfg, "-P", "--read-envelope-from", "-t", "extra@example.org"}
	ms := proc{bin: msmtp, args: args, env: m.env(), stdin: strings.NewReader(msg)}.run(t)
	tm := proc{args: append([]string{"sendmail"}, args...), env: m.env(), stdin: strings.NewReader(msg)}.run(t)
	for _, want := range []string{
		"envelope from address extracted from mail: ann@example.net\n",
		"\nfrom = ann@example.net\n",
		"\nreading recipients from the command line and the mail\n",
	} {
		if !strings.Contains(ms.stdout, want) {
			t.Errorf("msmtp does not print %q: %s", want, ms)
		}
		if !strings.Contains(tm.stdout, want) {
			t.Errorf("tlsmail does not print %q: %s", want, tm)
		}
	}
	if want := "\nrecipients = bob@example.org, cy@example.org, dee@example.org, eve@example.org, extra@example.org\n"; tm.code != 0 || !strings.Contains(tm.stdout, want) {
		t.Errorf("tlsmail: want %q: %s", want, tm)
	}
	if ms.code != 0 || storedCount(t, m.srv) != 0 {
		t.Errorf("msmtp exit %d; %d messages sent by -P", ms.code, storedCount(t, m.srv))
	}
}
