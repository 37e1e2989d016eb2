//go:build unix

package submit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestLogItemAfterCancel: an item's outcome has happened when its log line
// is written, so a run being stopped (RunPass's context cancelled as the
// last item is settled) must not lose the line. A shared queue's item gets
// its log only as the runner's configuration account says (ItemLog), and
// reading that file runs its eval lines with the context: before, LogItem
// read it with the run's cancelled context, the eval failed, and the line
// was not written (the command line's own writer used a fresh context).
func TestLogItemAfterCancel(t *testing.T) {
	dir := testdir.New(t)
	logfile := filepath.Join(dir, "msmtp.log")
	cfg := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfg, []byte("account work\nhost mail.example.org\neval echo logfile "+logfile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &Account{ConfigFile: cfg, Name: "work", ConfigHost: "mail.example.org", Host: "mail.example.org", Log: Log{File: logfile}}
	settings, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	it := outbox.NewItem(outbox.Item{ID: "0123abcd", Envelope: outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}}}, settings, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	if err := c.LogItem(ctx, it, outbox.Result{Outcome: outbox.Delivered}, nil); err != nil {
		t.Fatalf("LogItem after the run's context was cancelled: %v", err)
	}
	b, err := os.ReadFile(logfile)
	if err != nil || !strings.Contains(string(b), "recipients=b@example.net") {
		t.Errorf("log after LogItem: %q, %v; want the item's line", b, err)
	}
}
