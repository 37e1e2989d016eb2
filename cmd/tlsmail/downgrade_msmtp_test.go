package main

import (
	"bytes"
	"mime"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testpeer"
	"github.com/tlsmail/tlsmail/server"
)

// TestMsmtpUTF8SubjectNoSMTPUTF8 (issue 14 item 12): a message with a UTF-8
// Subject and display name and ASCII addresses, sent by msmtp and by
// tlsmail sendmail to a server without SMTPUTF8 (as OpenSMTPD): both
// deliver it to the same recipient with the same body. msmtp sends the
// header as it is (8-bit, which such a server need not accept); tlsmail
// sends it downgraded to RFC 2047 encoded-words (RFC 6857 section 3), which
// decode to the same text. A non-ASCII recipient is refused by tlsmail
// before MAIL FROM with that reason (exit 65, EX_DATAERR).
func TestMsmtpUTF8SubjectNoSMTPUTF8(t *testing.T) {
	t.Parallel()
	msmtp := testpeer.Need(t, "msmtp", "msmtp")
	m := newMailbox(t, func(c *server.Config) { c.DisableSMTPUTF8 = true }, nil)
	const subject = "Rapport: état du système ✓"
	body := "Grüße,\r\nder Bericht.\r\n"
	in := "From: Zoë Ärger <ann@example.com>\nTo: bob@example.org\nSubject: " + subject + "\n\n" + strings.ReplaceAll(body, "\r\n", "\n")
	ms, tm := runBoth(t, m, msmtp, []string{"-C", m.cfg, "-i", "bob@example.org"}, in)
	if ms.code != 0 || tm.code != 0 {
		t.Fatalf("msmtp exit %d (%s), tlsmail exit %d (%s); want both 0", ms.code, ms.stderr, tm.code, tm.stderr)
	}
	if ms.rcpt != tm.rcpt || tm.rcpt != "bob@example.org" {
		t.Errorf("recipients: msmtp %q, tlsmail %q", ms.rcpt, tm.rcpt)
	}
	header := func(data []byte) (map[string]string, string) {
		h, b, _ := bytes.Cut(data, []byte("\r\n\r\n"))
		f := map[string]string{}
		for _, l := range strings.Split(strings.ReplaceAll(string(h), "\r\n ", " "), "\r\n") {
			if k, v, ok := strings.Cut(l, ": "); ok {
				f[strings.ToLower(k)] = v
			}
		}
		return f, string(b)
	}
	mh, mb := header(ms.data)
	th, tb := header(tm.data)
	if mb != body || tb != body {
		t.Errorf("bodies: msmtp %q, tlsmail %q, want %q", mb, tb, body)
	}
	if mh["subject"] != subject {
		t.Errorf("msmtp's Subject %q: the test expects it sent as is", mh["subject"])
	}
	if i := bytes.IndexFunc(tm.data[:bytes.Index(tm.data, []byte("\r\n\r\n"))], func(r rune) bool { return r >= 0x80 }); i >= 0 {
		t.Errorf("tlsmail's header is not 7-bit:\n%s", tm.data)
	}
	dec := new(mime.WordDecoder)
	for k, want := range map[string]string{"subject": subject, "from": "Zoë Ärger <ann@example.com>"} {
		if got, err := dec.DecodeHeader(th[k]); err != nil || got != want {
			t.Errorf("tlsmail's %s %q decodes to %q (%v), want %q", k, th[k], got, err, want)
		}
	}

	// A recipient that needs SMTPUTF8: refused by tlsmail with the reason.
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "jörg@example.org"}, env: m.env(), stdin: strings.NewReader(in)}
	res := r.run(t)
	if res.code != 65 || !strings.Contains(res.stderr, "is not ASCII") || !strings.Contains(res.stderr, "SMTPUTF8") {
		t.Errorf("non-ASCII recipient: exit %d, stderr %q; want 65 naming the address and SMTPUTF8", res.code, res.stderr)
	}
}
