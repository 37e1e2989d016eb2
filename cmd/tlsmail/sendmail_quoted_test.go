package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// TestMsmtpQuotedLocalPart: an envelope address whose local part needs
// quotes (-f '"x y"@example.com', EMAIL, a recipient) goes out quoted, as
// RFC 5321 section 4.1.2 requires; msmtp sends such a sender quoted and
// delivers. tlsmail sent MAIL FROM:<x y@example.com>, which the server
// refused (501: exit 65 and the message in failed/). (msmtp 1.8.23
// garbles such a recipient into RCPT TO:<@example.org>; tlsmail is only
// checked against the server there.)
func TestMsmtpQuotedLocalPart(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	ms, tm := runBoth(t, m, msmtp, []string{"-C", m.cfg, "-f", `"x y"@example.com`, "bob@example.org"}, "Subject: quoted\n\nx\n")
	if ms.code != 0 || tm.code != 0 || ms.rcpt != tm.rcpt {
		t.Errorf("msmtp: exit %d to %q %s; tlsmail: exit %d to %q %s", ms.code, ms.rcpt, ms.stderr, tm.code, tm.rcpt, tm.stderr)
	}
	for i, tt := range []struct {
		args  []string
		stdin string
		to    string // as the server decoded it
	}{
		{[]string{`"b c"@example.org`}, "Subject: quoted\n\nx\n", "b c@example.org"},
		{[]string{"-t"}, "To: \"b\\\"c d\"@example.org\nSubject: quoted\n\nx\n", `b"c d@example.org`},
	} {
		r := proc{args: append([]string{"sendmail", "-C", m.cfg}, tt.args...), env: m.env(), stdin: strings.NewReader(tt.stdin)}.run(t)
		if r.code != 0 {
			t.Errorf("%q: %s", tt.args, r)
			continue
		}
		if got := strings.Join(waitMessages(t, m.srv, 3+i)[2+i].To, ","); got != tt.to {
			t.Errorf("%q: delivered to %q, want %q", tt.args, got, tt.to)
		}
	}
}

// TestMsmtpEnvironmentServerWithPort: SMTPSERVER holds a host name alone
// (msmtp uses port 25). "127.0.0.1:PORT" there never resolves: msmtp
// exits 68 (EX_NOHOST) and tlsmail queued the message for ever and
// exited 0. tlsmail now refuses it before queuing (exit 78, naming
// SMTPSERVER).
func TestMsmtpEnvironmentServerWithPort(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	for _, p := range []proc{{bin: msmtp, args: []string{"bob@example.org"}}, {args: []string{"sendmail", "bob@example.org"}}} {
		p.env = m.env("SMTPSERVER="+m.srv.SMTPAddr(), "EMAIL=env@example.com", "TLSMAIL_SYSTEM_CONFIG="+filepath.Join(t.TempDir(), "none"))
		p.stdin = strings.NewReader("Subject: env\n\nx\n")
		r := p.run(t)
		if p.bin != "" {
			if r.code != 68 {
				t.Errorf("msmtp: %s (expected exit 68)", r)
			}
			continue
		}
		if r.code != exitConfig || !strings.Contains(r.stderr, "SMTPSERVER") {
			t.Errorf("tlsmail: %s; want exit 78 naming SMTPSERVER", r)
		}
		m.wantEmptyOutbox(t, "")
	}
}
