package main

import (
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
)

// TestMsmtpNullSender: `sendmail -f ""`, `-f "<>"` and `--from=` send the null
// sender (MAIL FROM:<>, RFC 5321 section 4.5.5: what bounces and
// delivery notifications use), side by side with msmtp; with
// allow_from_override off the account's from is kept, as msmtp keeps it.
func TestMsmtpNullSender(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	noOverride := m.configWith(t, "allow_from_override off\n")
	tests := []struct {
		name, want string
		args       []string
	}{
		{"-f ''", "", []string{"-C", m.cfg, "-f", "", "bob@example.org"}},

		{"--from=", "", []string{"-C", m.cfg, "--from=", "bob@example.org"}},
		{"-f '<>'", "", []string{"-C", m.cfg, "-f", "<>", "bob@example.org"}},
		{"-f '' with allow_from_override off", "ann@example.com", []string{"-C", noOverride, "-f", "", "bob@example.org"}},
	}
	for _, tc := range tests {
		ms, tm := runBoth(t, m, msmtp, tc.args, "Subject: bounce\n\nx\n")
		if ms.code != 0 || ms.msg.From != tc.want {
			t.Errorf("%s: msmtp exit %d from %q, want %q (the test's premise): %s", tc.name, ms.code, ms.msg.From, tc.want, ms.stderr)
		}
		if tm.code != 0 || tm.msg.From != tc.want {
			t.Errorf("%s: tlsmail exit %d from %q, want %q: %s", tc.name, tm.code, tm.msg.From, tc.want, tm.stderr)
		}
		// msmtp writes an empty From field (not a valid one, RFC 5322
		// section 3.6.2); tlsmail writes the account's from there.
		if !strings.Contains(string(tm.data), "From: ann@example.com\r\n") {
			t.Errorf("%s: tlsmail's message lacks the account's From field:\n%s", tc.name, tm.data)
		}
	}
}

// TestMsmtpEmptyDomain: `--domain=` (an empty EHLO name) makes msmtp send
// "EHLO " and fail on the server's refusal; tlsmail refuses it at once
// (exit 64, saying what to give), queuing nothing.
func TestMsmtpEmptyDomain(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, nil, nil)
	ms, tm := runBoth(t, m, msmtp, []string{"-C", m.cfg, "--domain=", "bob@example.org"}, "Subject: x\n\nx\n")
	if ms.code == 0 {
		t.Errorf("msmtp --domain= succeeded (the test's premise is that it fails): %s", ms.stderr)
	}
	if tm.code != exitUsage || !strings.Contains(tm.stderr, "--domain") || !strings.Contains(tm.stderr, "fix:") {
		t.Errorf("tlsmail --domain=: exit %d, want %d naming --domain with a fix: %s", tm.code, exitUsage, tm.stderr)
	}
	m.wantEmptyOutbox(t, "")
}
