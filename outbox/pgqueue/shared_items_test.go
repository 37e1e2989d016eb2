package pgqueue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testbuf"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpki"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// authServer starts an embedded server whose whole dialogue (every
// session, AUTH redacted) goes to the returned buffer: empty means no
// connection was made to it.
func authServer(t *testing.T, cfg server.Config) (*server.Server, *testbuf.Buffer, int) {
	t.Helper()
	seen := &testbuf.Buffer{}
	cfg.SMTPAddr, cfg.Dir, cfg.Debug, cfg.AuthFailureDelay = "127.0.0.1:0", testdir.New(t), seen, -1
	srv, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	_, p, _ := net.SplitHostPort(srv.SMTPAddr())
	port, _ := strconv.Atoi(p)
	return srv, seen, port
}

// insertRow queues settings as an application host that can write the
// queue's tables does: one INSERT of its own, no tlsmail in between.
func insertRow(t *testing.T, url string, settings map[string]any) string {
	t.Helper()
	s, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	envJSON, _ := json.Marshal(&env)
	content := []byte(msg(1))
	id := fmt.Sprintf("%013x%016x", time.Now().UnixMicro(), dbSeq.Add(1))
	conn := dial(t, url)
	if _, err := conn.Exec(context.Background(), `WITH m AS (INSERT INTO tlsmail.message (id, envelope, settings, content) VALUES ($1, $2, $3, $4))
		INSERT INTO tlsmail.outbox (id, group_key, size) VALUES ($1, md5($5::text), $6)`,
		id, envJSON, s, content, string(s), len(content)); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSharedQueueItemsTakeNoRunnerSecrets: an item of the PostgreSQL queue
// is written by whoever can INSERT into it (any application host), so its
// settings must not make a runner run a command, read its files or
// environment, or send its configuration account's password to a server,
// TLS mode or trust of the item's choosing. Rows written by SQL are run
// with RunPass as `tlsmail queue run` does: a command row's command does
// not run (no marker file), env/file/PFX rows are refused, config rows
// that differ from the runner's account (another port, config_host
// pointing at the account's host while host is another, plain text,
// verification off, another CA or TLS name) and netrc rows over plain
// text are deferred with no connection made to any server; a row that is
// the runner's account delivers; the runner's opt-in (Policy.Secrets)
// lets env and command rows through. Before ItemPolicy, every refused row
// connected (and the command ran).
func TestSharedQueueItemsTakeNoRunnerSecrets(t *testing.T) {
	dir := testdir.New(t)
	legit, legitSeen, legitPort := authServer(t, server.Config{Users: map[string]string{"alice": "s3cret"}})
	_, evilSeen, evilPort := authServer(t, server.Config{Users: map[string]string{"alice": "x"}, AllowInsecureAuth: true, DisableSTARTTLS: true})
	cfgFile := filepath.Join(dir, "msmtprc")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`account legit
host 127.0.0.1
port %d
tls on
tls_starttls on
tls_trust_file %s
tls_host_override localhost
auth on
user alice
password s3cret
`, legitPort, legit.CAFile())), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "marker")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TLSMAIL_S15_SECRET", "s3cret")
	otherCA := filepath.Join(dir, "other-ca.pem")
	if b, err := os.ReadFile(legit.CAFile()); err != nil || os.WriteFile(otherCA, b, 0o600) != nil {
		t.Fatal("cannot copy the CA file", err)
	}

	// account is the runner's account as an item carries it.
	account := func(over map[string]any) map[string]any {
		m := map[string]any{"config_file": cfgFile, "account": "legit", "config_host": "127.0.0.1",
			"host": "127.0.0.1", "port": legitPort, "tls": "starttls", "trust_file": legit.CAFile(),
			"server_name": "localhost", "auth": "on", "user": "alice",
			"secret": map[string]string{"source": "config", "ref": "legit"}}
		for k, v := range over {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	// plainEvil is the attacker's server: plain text, AUTH PLAIN accepted.
	plainEvil := map[string]any{"host": "127.0.0.1", "port": evilPort, "tls": "none", "auth": "plain",
		"trust_file": nil, "server_name": nil}
	with := func(a, b map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out
	}
	cmd := map[string]string{"source": "command", "ref": "touch " + marker + "; echo s3cret"}
	// The runner's client certificate and key (a credential: a server
	// that takes the certificate relays the mail).
	clientPKI, err := testpki.NewPKI([]string{"localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clientDir := filepath.Join(dir, "client")
	if err := os.Mkdir(clientDir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, clientCert, clientKey, err := clientPKI.WriteFiles(clientDir)
	if err != nil {
		t.Fatal(err)
	}
	noAuth := map[string]any{"config_file": nil, "account": nil, "config_host": nil, "auth": nil, "user": nil, "secret": nil}
	tests := []struct {
		name     string
		settings map[string]any
		allow    []submit.SecretSource
		want     string // "delivered", or a part of the deferral's error
	}{
		{"command to evil", account(with(plainEvil, map[string]any{"secret": cmd, "config_file": nil, "account": nil, "config_host": nil})), nil, "source command"},
		{"command to legit", account(map[string]any{"secret": cmd, "config_file": nil, "account": nil, "config_host": nil}), nil, "source command"},
		{"env", account(with(plainEvil, map[string]any{"secret": map[string]string{"source": "env", "ref": "TLSMAIL_S15_SECRET"}})), nil, "source env"},
		{"file", account(with(plainEvil, map[string]any{"secret": map[string]string{"source": "file", "ref": pwFile}})), nil, "source file"},
		{"pfx password command", account(map[string]any{"pfx_file": pwFile, "pfx_password": cmd, "provider": "schannel"}), nil, "source command"},
		{"config to another port", account(with(plainEvil, nil)), nil, "port " + strconv.Itoa(evilPort)},
		{"config to another port, TLS", account(map[string]any{"port": evilPort}), nil, "port " + strconv.Itoa(evilPort)},
		{"config plain", account(map[string]any{"tls": "none", "auth": "plain"}), nil, "tls none"},
		{"config insecure", account(map[string]any{"insecure": true}), nil, "certificate check off"},
		{"config other CA", account(map[string]any{"trust_file": otherCA}), nil, "trust file " + otherCA},
		{"config other TLS name", account(map[string]any{"server_name": "evil.example"}), nil, "TLS name evil.example"},
		{"config other user", account(map[string]any{"user": "bob"}), nil, "user bob"},
		{"netrc plain", account(with(plainEvil, map[string]any{"secret": map[string]string{"source": "netrc"}, "config_file": nil, "account": nil, "config_host": nil})), nil, "without TLS"},
		{"netrc own file", account(map[string]any{"secret": map[string]string{"source": "netrc", "ref": pwFile}, "config_file": nil, "account": nil, "config_host": nil}), nil, "its own netrc file"},
		{"client certificate to evil, no login", account(with(with(plainEvil, noAuth), map[string]any{"cert_file": clientCert, "key_file": clientKey})), nil, "names no configuration account"},
		{"client certificate with the account, to evil", account(with(plainEvil, map[string]any{"cert_file": clientCert, "key_file": clientKey, "auth": nil, "user": nil, "secret": nil})), nil, "client certificate " + clientCert},
		{"config as the account says", account(nil), nil, "delivered"},
		{"env opted in", account(map[string]any{"secret": map[string]string{"source": "env", "ref": "TLSMAIL_S15_SECRET"}, "config_file": nil, "account": nil, "config_host": nil}),
			[]submit.SecretSource{submit.SecretEnv}, "delivered"},
		{"command opted in", account(map[string]any{"secret": cmd, "config_file": nil, "account": nil, "config_host": nil}),
			[]submit.SecretSource{submit.SecretEnv, submit.SecretCommand}, "delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(marker)
			before, evilBefore := legitSeen.String(), evilSeen.String()
			url := newDB(t)
			q := openPG(t, url, pgqueue.Options{})
			id := insertRow(t, url, tt.settings)
			var reports []submit.Report
			c := &submit.Connector{Policy: submit.ItemPolicy{Secrets: tt.allow}}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := submit.RunPass(ctx, q, submit.PassConfig{Connector: c,
				OnReport: func(r submit.Report) { reports = append(reports, r) }}); err != nil {
				t.Fatal(err)
			}
			if len(reports) != 1 || reports[0].ID != id {
				t.Fatalf("reports %+v; want one for %s", reports, id)
			}
			r := reports[0]
			_, markerErr := os.Stat(marker)
			if tt.want == "delivered" {
				if r.Outcome != "delivered" {
					t.Fatalf("%s: %s; want it delivered", tt.name, r)
				}
				if tt.name == "command opted in" && markerErr != nil {
					t.Errorf("the opted-in command did not run")
				}
				return
			}
			if r.Outcome != "deferred" || !strings.Contains(r.Error, tt.want) || !strings.Contains(r.Error, "nothing sent") {
				t.Errorf("%s; want it deferred, the error naming %q", r, tt.want)
			}
			if markerErr == nil {
				t.Errorf("the item's command ran (%s exists)", marker)
			}
			if s := legitSeen.String(); s != before {
				t.Errorf("the account's server was connected to:\n%s", strings.TrimPrefix(s, before))
			}
			if s := evilSeen.String(); s != evilBefore {
				t.Errorf("the item's server was connected to:\n%s", strings.TrimPrefix(s, evilBefore))
			}
			if strings.Contains(r.Error, "s3cret") {
				t.Errorf("the error shows the password: %s", r.Error)
			}
		})
	}
	// The item's server never saw a login, under any row.
	if strings.Contains(evilSeen.String(), "AUTH") {
		t.Errorf("the attacker's server saw AUTH:\n%s", evilSeen)
	}
}
