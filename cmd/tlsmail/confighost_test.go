package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestServerFlagOverConfigPassword: send --server over a configuration
// account whose password is written in the file sends that password to
// the server named, at once and queued: the host the file names has not
// changed, only the command line's server differs (submit.Account.
// ConfigHost). The same password is not read once the file's account
// names another host (a queued item of the old host is kept, not
// delivered with it).
func TestServerFlagOverConfigPassword(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	port := portOf(t, m.srv.SMTPAddr())
	account := func(host string) string {
		return fmt.Sprintf("defaults\ntls on\ntls_starttls on\ntls_trust_file %s\ntimeout 30\n\n"+
			"account default\nhost %s\nport %s\nauth on\nuser %s\npassword %s\nfrom ann@example.com\n",
			m.srv.CAFile(), host, port, testUser, testPassword)
	}
	cfg := writeFile(t, "msmtprc", []byte(account("localhost")), 0o600)
	env := m.env("HOME=" + t.TempDir())
	send := func(extra ...string) result {
		args := append([]string{"send", "--config", cfg, "--server", "127.0.0.1:" + port, "--to", "bob@example.org", "--subject", "s", "--body", "b"}, extra...)
		return proc{args: args, env: env}.run(t)
	}
	if r := send(); r.code != 0 || storedCount(t, m.srv) != 1 {
		t.Fatalf("--server over the account: %s (stored %d, want 1)", r, storedCount(t, m.srv))
	}
	if r := send("--defer"); r.code != 0 {
		t.Fatalf("--defer: %s", r)
	}
	if r := (proc{args: []string{"queue", "run"}, env: env}).run(t); r.code != 0 || storedCount(t, m.srv) != 2 {
		t.Fatalf("queue run of the --server item: %s (stored %d, want 2)", r, storedCount(t, m.srv))
	}
	if r := send("--defer"); r.code != 0 {
		t.Fatalf("--defer: %s", r)
	}
	writeFileAt(t, cfg, account("mail.example.invalid"), 0o600)
	r := proc{args: []string{"queue", "run"}, env: env}.run(t)
	if storedCount(t, m.srv) != 2 || len(m.list(t).Queued) != 1 || !strings.Contains(r.stdout+r.stderr, "now names host mail.example.invalid") {
		t.Errorf("the account moved to another host: %s (stored %d, want 2, and the item kept)", r, storedCount(t, m.srv))
	}
}
