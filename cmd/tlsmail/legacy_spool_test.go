package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestQueueRunDeliversLegacyItem: an item spooled by the tlsmail before
// submit.Account (its settings in the outbox.Settings encoding, written
// here byte for byte as that version wrote them for `send --defer` with
// --ca, --tls-name, --ehlo, --user and --password-env) is still delivered:
// STARTTLS verified against its CA, the EHLO name, AUTH as the user with
// the password read again from the environment, BODY=8BITMIME for its 8-bit
// body.
func TestQueueRunDeliversLegacyItem(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	dir := filepath.Join(t.TempDir(), "queue")
	if _, err := outbox.Open(dir, outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	host, port := strings.Split(srv.SMTPAddr(), ":")[0], strings.Split(srv.SMTPAddr(), ":")[1]
	const id = "06g9v1f4kfq0s3c5a1d2e3f4g5"
	content := "From: a@example.org\r\nTo: b@example.org\r\nSubject: legacy\r\n\r\ncaf\xc3\xa9\r\n"
	header := `{"id":"` + id + `","created":"2026-12-01T10:00:00Z","envelope":{"from":"a@example.org","to":["b@example.org"]},` +
		`"settings":{"host":"` + host + `","port":` + port + `,"tls":"starttls","trust_file":"` + srv.CAFile() + `",` +
		`"server_name":"localhost","provider":"go","auth":"on","user":"` + testUser + `",` +
		`"secret":{"source":"env","ref":"` + passwordVar + `"},"domain":"legacy.example","timeout":10000000000}}`
	sum := sha256.Sum256([]byte(content))
	file := "tlsmail-outbox 1\n" + header + "\n" + content + fmt.Sprintf("\ntlsmail-end %016x %x\n", len(content), sum)
	if err := os.WriteFile(filepath.Join(dir, "msg", id+".msg"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"queue", "run", "--queue-dir", dir}, env: []string{passwordVar + "=" + testPassword}}.run(t)
	if r.code != 0 || !strings.Contains(r.stdout, "delivered "+id) {
		t.Fatalf("the legacy item was not delivered: %s", r)
	}
	ms := waitMessages(t, srv, 1)
	m := ms[0]
	if m.AuthUser != testUser || m.Helo != "legacy.example" || m.Body != "8BITMIME" || m.TLS == nil || m.TLS.ServerName != "localhost" {
		t.Errorf("delivered as %+v (TLS %+v), want AUTH as %s, EHLO legacy.example, BODY=8BITMIME, SNI localhost", m.Envelope, m.TLS, testUser)
	}
}

// TestQueueRunConfigPasswordReadAgain: an item whose password is a
// configuration account's reads the file again at delivery (now through
// submit): delivered while the file is private, deferred with the reason
// once others may read it.
func TestQueueRunConfigPasswordReadAgain(t *testing.T) {
	t.Parallel()
	m := newMailbox(t, nil, nil)
	send := func() result {
		return proc{args: []string{"send", "--defer", "--config", m.cfg, "--to", "bob@example.org", "--subject", "s", "--body", "b"}, env: m.env()}.run(t)
	}
	if r := send(); r.code != 0 {
		t.Fatalf("send --defer: %s", r)
	}
	if r := (proc{args: []string{"queue", "run"}, env: m.env()}).run(t); r.code != 0 || !strings.Contains(r.stdout, "1 delivered") {
		t.Fatalf("queue run with a private configuration file: %s", r)
	}
	if r := send(); r.code != 0 {
		t.Fatalf("send --defer: %s", r)
	}
	if err := os.Chmod(m.cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"queue", "run"}, env: m.env()}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stdout, "holds a password but can be read by other users") {
		t.Errorf("queue run with a world-readable password file: want exit 75 and the reason\n%s", r)
	}
}
