package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueuedConfigSecretFollowsAccount: a message queued from a
// configuration account by `send --defer` or `sendmail -odq` finds its
// password at delivery as a fresh send of that account would then: the
// account is read again (passwordeval, else netrc, msmtp's order), in
// both directions. Queued while the account had no password (netrc), it
// uses a passwordeval added since, even though ~/.netrc still has a
// (now stale) entry; queued with a passwordeval, it falls back to
// ~/.netrc once the passwordeval is gone. The items name the account
// (secret source "config"), never netrc alone or the command.
func TestQueuedConfigSecretFollowsAccount(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"send", "sendmail"} {
		for _, dir := range []string{"netrc to passwordeval", "passwordeval to netrc"} {
			t.Run(path+", "+dir, func(t *testing.T) {
				t.Parallel()
				m := newMailbox(t, nil, nil)
				cfg := netrcAccount(t, m)
				base, err := os.ReadFile(cfg)
				if err != nil {
					t.Fatal(err)
				}
				home := t.TempDir()
				netrc := filepath.Join(home, ".netrc")
				env := m.env("HOME=" + home)
				eval := "passwordeval echo " + testPassword + "\n"
				if dir == "netrc to passwordeval" {
					writeFileAt(t, netrc, "machine 127.0.0.1 login "+testUser+" password stale-netrc-password\n", 0o600)
				} else {
					writeFileAt(t, cfg, string(base)+eval, 0o600)
				}
				var r result
				if path == "send" {
					r = proc{args: []string{"send", "--defer", "--config", cfg, "--to", "bob@example.org", "--subject", "s", "--body", "b"}, env: env}.run(t)
				} else {
					r = proc{args: []string{"sendmail", "-C", cfg, "-odq", "bob@example.org"}, env: env,
						stdin: strings.NewReader("Subject: kept\n\nbody\n")}.run(t)
				}
				if r.code != 0 || len(m.list(t).Queued) != 1 {
					t.Fatalf("queueing: %s", r)
				}
				var spool strings.Builder
				filepath.WalkDir(m.queue, func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						b, _ := os.ReadFile(p)
						spool.Write(b)
					}
					return err
				})
				if !strings.Contains(spool.String(), `"secret":{"source":"config","ref":"default"}`) {
					t.Errorf("the item does not name the configuration account as its secret source:\n%s", spool.String())
				}
				if dir == "netrc to passwordeval" {
					writeFileAt(t, cfg, string(base)+eval, 0o600)
				} else {
					writeFileAt(t, cfg, string(base), 0o600)
					writeFileAt(t, netrc, "machine 127.0.0.1 login "+testUser+" password "+testPassword+"\n", 0o600)
				}
				r = proc{args: []string{"queue", "run"}, env: env}.run(t)
				if q := m.list(t); r.code != 0 || len(q.Queued) != 0 || storedCount(t, m.srv) != 1 {
					t.Errorf("queue run after the account changed: %s\nqueued %d, stored %d", r, len(q.Queued), storedCount(t, m.srv))
				}
			})
		}
	}
}
