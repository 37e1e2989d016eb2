//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasswordCommandStderrTerminalOnly: a password command that fails may
// print secrets on its standard error (a password store names its
// entries, a script echoes what it read). The start of that output used to
// be part of the error message, so it went into the outbox's last error,
// the JSON output and the msmtp log line. It is shown on the terminal
// (text output on standard error) only now, and the message names the
// command by its setting, not its command line. The marker comes from a
// file, so that the command line (stored with a --password-cmd item) does
// not hold it.
func TestPasswordCommandStderrTerminalOnly(t *testing.T) {
	t.Parallel()
	const marker = "LEAKED-STDERR-7d1f"
	leak := writeFile(t, "leak", []byte("error: cannot decrypt "+marker+"\n"), 0o600)
	cmd := "cat " + leak + " >&2; exit 3"
	srv := startServer(t, nil)
	host, port, _ := net.SplitHostPort(srv.SMTPAddr())
	rc := writeFile(t, "msmtprc", []byte(fmt.Sprintf("account local\nhost %s\nport %s\ntls on\ntls_starttls on\n"+
		"tls_trust_file %s\ntls_host_override localhost\nauth plain\nuser %s\npasswordeval %s\nfrom ann@example.com\n"+
		"account default : local\n", host, port, srv.CAFile(), testUser, cmd)), 0o600)
	dir := t.TempDir()
	q := filepath.Join(dir, "queue")
	logFile := filepath.Join(dir, "log")
	send := []string{"send", "--queue", "--queue-dir", q, "--server", srv.SMTPAddr(), "--ca", srv.CAFile(), "--tls-name", "localhost",
		"--user", testUser, "--auth", "plain", "--password-cmd", cmd, "--from", "ann@example.com", "--to", "bob@example.org",
		"--subject", "s", "--body", "b"}
	qenv := []string{"TLSMAIL_QUEUE_DIR=" + q}

	// Text output: the terminal shows the command's error output, apart
	// from the message.
	r := proc{args: send, env: qenv}.run(t)
	// (Queued first: deferred, exit 75, the message kept.)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "password command failed: exit status 3") ||
		!strings.Contains(r.stderr, "  the command's error output: error: cannot decrypt "+marker) {
		t.Errorf("send: exit %d, want %d, the failure and the command's error output on the terminal:\n%s", r.code, exitTempFail, r)
	}
	if strings.Contains(r.stderr, "tlsmail: "+cmd) || strings.Contains(r.stderr, "failed: exit status 3: ") {
		t.Errorf("send: the message holds the command line or its output:\n%s", r)
	}
	var elsewhere strings.Builder
	// JSON output, the log line of sendmail, a later queue run and list.
	for _, p := range []proc{
		{args: append(append([]string{}, send...), "--json"), env: qenv},
		{args: []string{"sendmail", "-C", rc, "--logfile", logFile, "-t", "-i"}, env: qenv, stdin: strings.NewReader(plainMessage)},
		{args: []string{"queue", "run", "--json"}, env: qenv},
		{args: []string{"queue", "list", "--json"}, env: qenv},
		{args: []string{"queue", "list"}, env: qenv},
	} {
		r := p.run(t)
		elsewhere.WriteString(r.stdout)
		if p.args[0] == "sendmail" && !strings.Contains(r.stderr, "command failed") {
			t.Errorf("%v: no failure reported:\n%s", p.args, r)
		}
	}
	stored := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil {
			stored++
			elsewhere.WriteString("\n--- " + path + "\n" + string(data))
		}
		return nil
	})
	all := elsewhere.String()
	if !strings.Contains(all, "command failed: exit status 3") || !strings.Contains(all, "--- "+logFile) {
		t.Fatalf("the failure was not recorded in the outbox and the log (%d files):\n%s", stored, all)
	}
	if strings.Contains(all, marker) {
		t.Errorf("the command's standard error reached the JSON output, the outbox or the log file:\n%s", all)
	}
}
