package main

import (
	"bytes"
	"os"
	"path/filepath"
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
