package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestSendLogRefusedRecipient: `send --config` with a logfile, one
// recipient taken and one refused with 550. A direct send (no outbox)
// keeps nothing: its log line must not say the refused recipient was
// deferred and queued again (nothing retries it), and it names the 550.
// With --queue the refused recipient goes to failed/, not queued again.
func TestSendLogRefusedRecipient(t *testing.T) {
	t.Parallel()
	const reject = "reject@example.org"
	m := newMailbox(t, func(c *server.Config) {
		c.RejectRecipient = func(to string) *server.Reply {
			if to == reject {
				return &server.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user here"}
			}
			return nil
		}
	}, nil)
	for _, extra := range [][]string{nil, {"--queue"}} {
		logfile := filepath.Join(t.TempDir(), "log")
		cfg := m.configWith(t, "logfile "+logfile+"\n")
		args := append([]string{"send", "--config", cfg, "--to", "ok@example.org", "--to", reject, "--subject", "s", "--body", "b"}, extra...)
		r := proc{args: args, env: m.env()}.run(t)
		data, err := os.ReadFile(logfile)
		if err != nil {
			t.Fatalf("%q wrote no log: %v\n%s", args, err, r)
		}
		line := string(data)
		if strings.Contains(line, "queued again") || strings.Contains(line, "deferred") {
			t.Errorf("%q: the log line says a 550-refused recipient was deferred and queued again: %s\n%s", args, line, r)
		}
		if !strings.Contains(line, reject) || !strings.Contains(line, "550") {
			t.Errorf("%q: the log line does not name the refusal: %s", args, line)
		}
	}
}
