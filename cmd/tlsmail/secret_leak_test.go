package main

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// TestNoSecretAnywhereAfterRefusedLogin: with each place a password can
// come from (environment, file, command, a configuration file's password
// and passwordeval), a send whose login the server refuses (535: the
// secret was used, and the failure is recorded) leaves the password, and
// its SASL PLAIN and LOGIN forms, in no file of the outbox (items, states),
// no output (text and JSON, stdout and stderr), no transcript file and no
// log file, through `send --queue`, `sendmail` and a later `queue run` and
// `queue list --json`.
func TestNoSecretAnywhereAfterRefusedLogin(t *testing.T) {
	t.Parallel()
	// The server knows another password: every login is refused.
	srv := startServer(t, func(c *server.Config) { c.Users = map[string]string{testUser: "not-the-client-password"} })
	host, port, _ := net.SplitHostPort(srv.SMTPAddr())
	secret := testPassword
	forms := []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + secret)),
	}
	pwFile := writeFile(t, "pw", []byte(secret+"\n"), 0o600)
	rc := func(t *testing.T, line string) string {
		return writeFile(t, "msmtprc", []byte(fmt.Sprintf("account local\nhost %s\nport %s\ntls on\ntls_starttls on\n"+
			"tls_trust_file %s\ntls_host_override localhost\nauth plain\nuser %s\n%s\nfrom ann@example.com\n"+
			"account default : local\n", host, port, srv.CAFile(), testUser, line)), 0o600)
	}
	type run struct {
		args []string
		env  []string
	}
	send := func(extra ...string) []string {
		return append([]string{"send", "--queue", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(), "--tls-name", "localhost",
			"--user", testUser, "--auth", "plain", "--from", "ann@example.com", "--to", "bob@example.org", "--subject", "s", "--body", "b"}, extra...)
	}
	cases := []struct {
		name string
		runs func(t *testing.T) []run
	}{
		{"env", func(*testing.T) []run { return []run{{args: send("--password-env", passwordVar), env: authEnv()}} }},
		{"file", func(*testing.T) []run { return []run{{args: send("--password-file", pwFile)}} }},
		{"command", func(*testing.T) []run {
			return []run{{args: send("--password-cmd", "cat "+pwFile)}}
		}},
		{"config password", func(t *testing.T) []run {
			c := rc(t, "password "+secret)
			return []run{{args: []string{"sendmail", "-C", c, "--logfile", "LOG", "-t", "-i"}}}
		}},
		{"config passwordeval", func(t *testing.T) []run {
			c := rc(t, "passwordeval cat "+pwFile)
			return []run{{args: []string{"sendmail", "-C", c, "--logfile", "LOG", "-t", "-i"}}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			q := filepath.Join(dir, "queue")
			logFile := filepath.Join(dir, "log")
			var out strings.Builder
			for _, r := range tc.runs(t) {
				for i, a := range r.args {
					if a == "LOG" {
						r.args[i] = logFile
					}
				}
				for _, json := range []bool{false, true} {
					args := append([]string{}, r.args...)
					if args[0] == "send" {
						args = append(args, "--queue-dir", q, "--transcript", filepath.Join(dir, "transcript"))
						if json {
							args = append(args, "--json")
						}
					}
					p := proc{args: args, env: append([]string{"TLSMAIL_QUEUE_DIR=" + q}, r.env...)}
					if args[0] == "sendmail" {
						p.stdin = strings.NewReader(plainMessage)
					}
					res := p.run(t)
					out.WriteString(res.String())
				}
			}
			for _, args := range [][]string{{"queue", "run", "--json"}, {"queue", "run", "--transcript", filepath.Join(dir, "transcript2")}, {"queue", "list", "--json"}, {"queue", "list"}} {
				res := proc{args: args, env: append([]string{"TLSMAIL_QUEUE_DIR=" + q}, authEnv()...)}.run(t)
				out.WriteString(res.String())
			}
			if !strings.Contains(out.String(), "535") {
				t.Fatalf("the login was not refused as planned:\n%s", out.String())
			}
			all := out.String()
			filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || filepath.Base(path) == "pw" || filepath.Base(path) == "msmtprc" {
					return err
				}
				data, err := os.ReadFile(path)
				if err == nil {
					all += "\n--- " + path + "\n" + string(data)
				}
				return nil
			})
			for _, f := range forms {
				if strings.Contains(all, f) {
					t.Errorf("the secret (%q) is written somewhere:\n%s", f, all)
				}
			}
		})
	}
}
