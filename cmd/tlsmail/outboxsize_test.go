package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// endless is standard input that never ends (`yes`).
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'y'
		if i%2 == 1 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

// TestSendmailOutboxSizeLimit: `yes | tlsmail sendmail -t` used to write
// the outbox's temporary file until the disk was full. What is written to
// the outbox is bounded: 64 MiB by default, -O MaxMessageSize for
// sendmail, --max-size for send --queue/--defer. A larger message is
// refused with exit 69 (EX_UNAVAILABLE, as Postfix's sendmail exits for
// "message file too big"), nothing is queued and no temporary file is
// left.
func TestSendmailOutboxSizeLimit(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	head := "To: bob@example.org\nSubject: runaway\n\n"
	// Just over the default: refused by the default limit.
	overDefault := io.MultiReader(strings.NewReader(head), io.LimitReader(endless{}, 64<<20))
	tests := []struct {
		name  string
		args  []string
		stdin io.Reader
	}{
		{"sendmail -t, default limit", []string{"sendmail", "-C", m.cfg, "-odq", "-t"}, overDefault},
		{"sendmail -t, endless, -O MaxMessageSize", []string{"sendmail", "-C", m.cfg, "-odq", "-t", "-O", "MaxMessageSize=65536"},
			io.MultiReader(strings.NewReader(head), endless{})},
		{"send --defer --message -, endless, --max-size", []string{"send", "--config", m.cfg, "--defer", "--max-size", "65536",
			"--message", "-"}, io.MultiReader(strings.NewReader(head), endless{})},
		{"send --queue --body-file, --max-size", []string{"send", "--config", m.cfg, "--queue", "--max-size", "65536",
			"--to", "bob@example.org", "--body-file", writeFile(t, "big.txt", []byte(strings.Repeat("hello world\n", 10000)), 0o600)}, nil},
	}
	for _, tc := range tests {
		r := proc{args: tc.args, env: m.env(), stdin: tc.stdin}.run(t)
		if r.code != exitUnavailable || !strings.Contains(r.stderr, "larger") || !strings.Contains(r.stderr, "limit") {
			t.Errorf("%s: want exit %d and an error naming the limit, got\n%.3000s", tc.name, exitUnavailable, r)
		}
	}
	for _, sub := range []string{"msg", "tmp"} {
		if entries, _ := os.ReadDir(filepath.Join(m.queue, sub)); len(entries) > 0 {
			t.Errorf("%d files left in %s/", len(entries), sub)
		}
	}
	if got := storedCount(t, m.srv); got != 0 {
		t.Errorf("the server got %d messages", got)
	}
}
