package submit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestSharedItemConfigFileShowsNoContent: a shared queue's row chooses the
// configuration file its account is read from, and any file of the
// runner's user passes the owner check: a password file, a key, a token.
// Parsed as a configuration, its first line is an "unknown command", and
// that error (the item's deferral, stored in the queue, shown by 'queue
// list', written to the runner's output) must not repeat the file's
// content. Before, it said "unknown command hunter2pw".
func TestSharedItemConfigFileShowsNoContent(t *testing.T) {
	dir := testdir.New(t)
	pw := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pw, []byte("hunter2pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Connector{Policy: ItemPolicy{Shared: true}}
	ctx := context.Background()
	a := &Account{ConfigFile: pw, Name: "work", Host: "127.0.0.1",
		Auth: Auth{User: "alice", Mechanism: "AUTO", Secret: SecretRef{Source: SecretConfig, Ref: "work"}}}
	_, err := c.Plan(ctx, a)
	if err == nil {
		t.Fatal("Plan accepted a password file as the item's configuration file")
	}
	if strings.Contains(err.Error(), "hunter2pw") {
		t.Errorf("Plan's error shows the file's content: %v", err)
	}
	if !strings.Contains(err.Error(), pw) {
		t.Errorf("Plan's error does not name the file: %v", err)
	}
	// The log settings are checked against the same file.
	a = &Account{ConfigFile: pw, Name: "work", Host: "127.0.0.1", Log: Log{File: filepath.Join(dir, "log")}}
	if _, err := c.ItemLog(ctx, a); err == nil || strings.Contains(err.Error(), "hunter2pw") {
		t.Errorf("ItemLog: %v; want an error without the file's content", err)
	}
}
