package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// TestMsmtpMatrix is issue 14's compatibility suite: realistic msmtp
// configurations crossed with the command lines the programs that pipe
// mail into sendmail use, each run by msmtp 1.8.23 and by tlsmail against
// the same local server. Both must exit alike, hand the server the same
// envelope (sender and recipients) and the same message (normalize: field
// order and generated Date/Message-ID values aside), and write the same
// msmtp log line (host tls auth user from recipients smtpstatus exitcode).
// A row where tlsmail knowingly differs says so in why, and the README's
// msmtp section lists it. One server per configuration; the
// configurations run in parallel.
func TestMsmtpMatrix(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")

	type config struct {
		name string
		// text is the file, with @HOST@ @PORT@ @SPORT@ @CA@ @USER@ @PASSFILE@
		// @LOG@ @ALIASES@ filled in.
		text string
	}
	configs := []config{
		{"arch-wiki multi-account", `# Set default values for all following accounts.
defaults
auth           on
tls            on
tls_trust_file @CA@
logfile        @LOG@

# Gmail
account        gmail
host           @HOST@
port           @PORT@
from           ann@example.com
user           @USER@
passwordeval   "cat @PASSFILE@"

# A freemail service
account        freemail
host           @HOST@
port           @PORT@
from           joe_smith@freemail.example
user           @USER@
passwordeval   cat @PASSFILE@

# Set a default account
account default : gmail
`},
		{"debian msmtprc-system.example", `# Example for a system wide configuration file
account default
host @HOST@
# Use TLS on port 465. On this port, TLS starts without STARTTLS.
port @SPORT@
tls on
tls_starttls off
tls_trust_file @CA@
auth on
user @USER@
passwordeval cat @PASSFILE@
# Construct envelope-from addresses of the form "user@oursite.example"
from %U@oursite.example
# Do not allow programs to override this envelope-from address via -f
allow_from_override off
# Always set a From header that matches the envelope-from address
set_from_header on
logfile @LOG@
`},
		{"office365 auth login, domain %H", `defaults
tls on
tls_starttls on
tls_trust_file @CA@
logfile @LOG@

account office365
host @HOST@
port @PORT@
auth login
user @USER@
passwordeval cat @PASSFILE@
from ann@example.com
domain %H

account default : office365
`},
		{"no from", `# a user file that relies on the message's From
account default
host @HOST@
port @PORT@
tls on
tls_trust_file @CA@
auth on
user @USER@
passwordeval cat @PASSFILE@
logfile @LOG@
`},
		{"root/cron with aliases", `# /etc/msmtprc for cron and daemons (msmtp-mta)
defaults
aliases @ALIASES@
logfile @LOG@

account default
host @HOST@
port @PORT@
tls on
tls_trust_file @CA@
auth on
user @USER@
passwordeval cat @PASSFILE@
from cron@host.example
`},
	}

	const cronMail = "Content-Type: text/plain; charset=UTF-8\nSubject: Cron <root@host> test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily\nTo: root\n\n/etc/cron.daily/logrotate:\nerror: skipping \"/var/log/x.log\"\n"
	const logwatch = "To: root\nFrom: logwatch@host.example\nSubject: Logwatch for host (Linux)\nContent-Type: text/plain; charset=\"iso-8859-1\"\n\n ################### Logwatch 7.7 ####################\n.\n ###################### Logwatch End #########################\n"
	const mdadm = "Subject: DegradedArray event on /dev/md0:host\nTo: root\n\nThis is an automatically generated mail message from mdadm\n"
	const unattended = "From: root\nTo: root\nSubject: [reboot required] unattended-upgrades result for host: SUCCESS\nContent-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 7bit\n\nUnattended upgrade result: All upgrades installed\n"
	const php = "To: bob@example.org\nSubject: Contact form\nFrom: www@example.com\nX-Mailer: PHP/8.2\nContent-type: text/plain; charset=UTF-8\n\nHello from the web site.\r\n"
	const django = "Content-Type: multipart/alternative; boundary=\"===============1==\"\nMIME-Version: 1.0\nSubject: Password reset\nFrom: noreply@example.com\nTo: bob@example.org\nDate: Sun, 06 Dec 2026 21:00:00 -0000\nMessage-ID: <170@django.test.invalid>\n\n--===============1==\nContent-Type: text/plain; charset=\"utf-8\"\n\nReset it.\n--===============1==--\n"
	const gitSendEmail = "From: Ann Author <ann@example.com>\nTo: bob@example.org\nCc: carol@example.org\nSubject: [PATCH] fix the frobnicator\nDate: Sun,  6 Dec 2026 21:00:00 +0000\nMessage-ID: <20261206-1-ann@test.invalid>\nX-Mailer: git-send-email 2.39.2\nMIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n---\n frob.c | 2 +-\n.\n"
	const mutt = "Date: Sun, 6 Dec 2026 21:00:00 +0000\nFrom: Ann <ann@example.com>\nTo: bob@example.org\nSubject: lunch\nMessage-ID: <mutt-1@test.invalid>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\nContent-Disposition: inline\n\nsee you\n.\nafter the dot\n"

	type invocation struct {
		name  string
		args  []string
		stdin string
		local bool // to the bare name root (cron, daemons)
	}
	invocations := []invocation{
		{"cron", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"}, cronMail, true},
		{"logwatch -t", []string{"-t"}, logwatch, true},
		{"mdadm/smartd via mail(1)", []string{"-i", "--", "root"}, mdadm, true},
		{"unattended-upgrades -t", []string{"-t"}, unattended, true},
		{"PHP -t -i", []string{"-t", "-i"}, php, false},
		{"Django -f", []string{"-i", "-f", "noreply@example.com", "bob@example.org"}, django, false},
		{"git send-email", []string{"-i", "bob@example.org", "carol@example.org"}, gitSendEmail, false},
		{"mutt", []string{"-oem", "-oi", "--", "bob@example.org"}, mutt, false},
	}
	// differences says where tlsmail knowingly differs from msmtp, per
	// configuration and invocation ("" for any): what may differ (exit,
	// envelope, order, content, log), and why; check, when set, proves
	// that the difference is the one described. The README's msmtp
	// section lists the same.
	type difference struct {
		config, invocation, what, why string
		check                         func(inv invocation, ms, tm delivered) string
	}
	differences := []difference{
		{config: "", invocation: "", what: "order", why: "tlsmail appends the fields it adds (From, Date, Message-ID, the undisclosed To) after the message's own, " +
			"msmtp puts them first; RFC 5322 section 3.6 does not order them, and the message's own bytes stay untouched"},
	}
	for _, inv := range invocations {
		if slices.Contains(inv.args, "-f") {
			continue // msmtp has a sender then: no difference
		}
		differences = append(differences, difference{config: "no from", invocation: inv.name, what: "exit envelope content log",
			why: "msmtp refuses an account without from in sendmail mode unless -f gives one (exit 78, envelope-from address is missing); " +
				"tlsmail takes the sender from the message's Sender or From field, as sendmail does, and exits 64 when it has no address there",
			check: func(inv invocation, ms, tm delivered) string {
				// A From field with an address (unattended-upgrades'
				// "From: root" is none: exit 64 names the field).
				hasFrom := false
				for _, line := range strings.Split(inv.stdin, "\n") {
					if line == "" {
						break
					}
					if strings.HasPrefix(line, "From:") && strings.Contains(line, "@") {
						hasFrom = true
					}
				}
				ok := ms.code == 78
				switch {
				case !hasFrom:
					ok = ok && tm.code == 64
				case tm.code == 0:
					ok = ok && tm.msg.From != ""
				default:
					// Sent, and refused by the server (a bare "root"
					// without aliases), as any other configuration.
					ok = ok && tm.code == 65
				}
				if !ok {
					return fmt.Sprintf("msmtp exit %d, tlsmail exit %d with sender %q", ms.code, tm.code, tm.msg.From)
				}
				return ""
			}})
	}

	// msmtpExit is what msmtp itself must do on each row, so that the
	// matrix cannot pass with both programs failing alike (a server that
	// refuses everything, a broken configuration): it delivers, except a
	// bare "root" without aliases (the server refuses it: 65) and the
	// file with no from unless -f gives one (78).
	msmtpExit := func(config string, inv invocation) int {
		switch {
		case config == "no from" && !slices.Contains(inv.args, "-f"):
			return 78
		case config != "root/cron with aliases" && inv.local:
			return 65
		}
		return 0
	}

	env := []string{"USER=root", "HOSTNAME=host.example"}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, nil)
			host, port, err := net.SplitHostPort(srv.SMTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			_, sport, err := net.SplitHostPort(srv.SMTPSAddr())
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			log := filepath.Join(dir, "msmtp.log")
			aliases := writeFile(t, "aliases", []byte("# /etc/aliases\nmailer-daemon: postmaster\npostmaster: root\nroot: admin@example.com\ndefault: ops@example.com\n"), 0o644)
			pass := writeFile(t, "pass", []byte(testPassword+"\n"), 0o600)
			text := strings.NewReplacer("@HOST@", host, "@PORT@", port, "@SPORT@", sport, "@CA@", srv.CAFile(), "@USER@", testUser,
				"@PASSFILE@", pass, "@LOG@", log, "@ALIASES@", aliases).Replace(c.text)
			m := &mailbox{srv: srv, cfg: writeFile(t, "msmtprc", []byte(text), 0o600), queue: filepath.Join(dir, "queue")}
			for _, inv := range invocations {
				logBefore := logLines(t, log)
				ms, tm := runBothEnv(t, m, msmtp, append([]string{"-C", m.cfg}, inv.args...), inv.stdin, env)
				if want := msmtpExit(c.name, inv); ms.code != want {
					t.Errorf("%s / %s: msmtp exit %d, the matrix expects %d: %s", c.name, inv.name, ms.code, want, ms.stderr)
				}
				var diffs []difference
				for _, d := range differences {
					if (d.config == "" || d.config == c.name) && (d.invocation == "" || d.invocation == inv.name) {
						diffs = append(diffs, d)
					}
				}
				what := func(w string) bool {
					for _, d := range diffs {
						if strings.Contains(d.what, w) {
							return true
						}
					}
					return false
				}
				report := func(format string, args ...any) {
					t.Helper()
					t.Errorf("%s / %s: %s", c.name, inv.name, fmt.Sprintf(format, args...))
				}
				for _, d := range diffs {
					if d.check != nil {
						if msg := d.check(inv, ms, tm); msg != "" {
							report("not the known difference (%s): %s\nmsmtp: %s\ntlsmail: %s", d.why, msg, ms.stderr, tm.stderr)
						}
					}
				}
				if tm.code != ms.code && !what("exit") {
					report("tlsmail exit %d, msmtp exit %d\nmsmtp: %s\ntlsmail: %s", tm.code, ms.code, ms.stderr, tm.stderr)
					continue
				}
				if ms.code == 0 && tm.code == 0 {
					if (tm.msg.From != ms.msg.From || tm.rcpt != ms.rcpt) && !what("envelope") {
						report("envelope: msmtp %s -> %s, tlsmail %s -> %s", ms.msg.From, ms.rcpt, tm.msg.From, tm.rcpt)
					}
					if tm.msg.Helo != ms.msg.Helo || strings.Contains(tm.msg.Helo, "%") {
						report("EHLO: msmtp %q, tlsmail %q", ms.msg.Helo, tm.msg.Helo)
					}
					if nm, nt := normalize(t, ms.data, what("order"), inv.stdin), normalize(t, tm.data, what("order"), inv.stdin); nm.String() != nt.String() && !what("content") {
						report("the messages differ\nmsmtp:\n%s\ntlsmail:\n%s", nm, nt)
					}
				}
				if what("log") {
					continue
				}
				lines := logLines(t, log)[len(logBefore):]
				if len(lines) != 2 {
					report("want one log line from each, got %q", lines)
					continue
				}
				lm, lt := logFields(t, lines[0]), logFields(t, lines[1])
				for _, k := range []string{"host", "tls", "auth", "user", "from", "recipients", "smtpstatus", "exitcode"} {
					if lm[k] != lt[k] && !what("log") {
						report("log %s: msmtp %q, tlsmail %q\nmsmtp:   %s\ntlsmail: %s", k, lm[k], lt[k], lines[0], lines[1])
					}
				}
			}
		})
	}
}

// logLines reads the log file's lines ("" lines dropped); none when it
// does not exist yet.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
