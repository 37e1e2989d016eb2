package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestSendmailDowngradeLargeHeader: a header that message preparation
// accepts (just under its 1 MiB of input, in short LF lines) grows when its
// lines end in CRLF; the downgrade for a server without SMTPUTF8 must still
// take it, not fail the message for a limit the user was never held to.
func TestSendmailDowngradeLargeHeader(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, func(c *server.Config) { c.DisableSMTPUTF8 = true }, nil)
	in := "Subject: é\n" + strings.Repeat("X:a\n", (1<<20-100)/4) + "\nbody\n"
	before := storedCount(t, m.srv)
	r := proc{args: []string{"sendmail", "-C", m.cfg, "-i", "bob@example.org"}, env: m.env(), stdin: strings.NewReader(in)}.run(t)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q; want 0", r.code, r.stderr)
	}
	d, err := waitMessages(t, m.srv, before+1)[before].Data()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(d, []byte("Subject: =?UTF-8?b?w6k=?=\r\nX:a\r\n")) || !bytes.HasSuffix(d, []byte("\r\n\r\nbody\r\n")) {
		t.Errorf("delivered %d bytes: %.60q ... %q", len(d), d, d[max(0, len(d)-20):])
	}
}
