//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// An item whose password comes from a command, written into the spool by
// another user (or left writable by others): `queue run` must not run
// that command. The control case (the user's own item) shows the command
// does run when the item is trusted, so the marker's absence means
// something.
func TestQueueRunRefusesForeignItem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		root    bool
		spoil   func(t *testing.T, p string)
		refused bool
	}{
		{"own item (control)", false, func(t *testing.T, p string) {}, false},
		{"another user's item", true, func(t *testing.T, p string) {
			if err := os.Chown(p, 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"group writable item", false, func(t *testing.T, p string) { os.Chmod(p, 0o620) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.root && os.Geteuid() != 0 {
				t.Skip("chown to another uid needs root") // CI runs the tests as root
			}
			dir := filepath.Join(t.TempDir(), "queue")
			marker := filepath.Join(t.TempDir(), "pwned")
			q, err := outbox.Open(dir, outbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := submit.Account{Host: "127.0.0.1", Port: closedPort(t), Mode: smtp.StartTLS,
				Auth: submit.Auth{User: "joe", Secret: submit.SecretRef{Source: submit.SecretCommand, Ref: "touch " + shellQuote(marker) + "; echo pw"}}}
			id, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
				strings.NewReader("Subject: x\r\n\r\nx\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			c.spoil(t, filepath.Join(dir, "msg", id+".msg"))
			r := proc{args: []string{"queue", "run", "--queue-dir", dir}}.run(t)
			_, statErr := os.Stat(marker)
			if !c.refused {
				if statErr != nil {
					t.Fatalf("the control item's password command did not run (%v): %s", statErr, r)
				}
				return
			}
			if statErr == nil {
				t.Fatalf("the password command of an untrusted item ran: %s", r)
			}
			if !strings.Contains(r.stderr, "untrusted spool file") || !strings.Contains(r.stdout, "1 corrupt file(s) moved") {
				t.Errorf("no clear warning: %s", r)
			}
			if _, err := os.Lstat(filepath.Join(dir, "corrupt", id+".msg")); err != nil {
				t.Errorf("not moved to corrupt/: %v", err)
			}
		})
	}
}

// A spool directory others may write to: queue run refuses to start (exit
// 78) and says how to fix it.
func TestQueueRunRefusesUnsafeDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	if _, err := outbox.Open(dir, outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "msg"), 0o777)
	r := proc{args: []string{"queue", "run", "--queue-dir", dir}}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "mode 0777") || !strings.Contains(r.stderr, "chmod 700") {
		t.Errorf("want exit %d naming the mode and the fix: %s", exitConfig, r)
	}
}

// Envelope text comes from the spool (from a sender's input, or from
// whoever wrote the file): `queue list` and its warnings quote it like
// peer text.
func TestQueueListQuotesSpoolText(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := submit.Account{Host: "127.0.0.1", Port: 25, Mode: smtp.StartTLS}
	if _, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a" + hostileText, To: []string{"b" + hostileText}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	r := proc{args: []string{"queue", "list", "--queue-dir", dir}}.run(t)
	if r.code != 0 {
		t.Fatal(r)
	}
	checkSafeOutput(t, "queue list", r.stdout+r.stderr)
	if strings.Count(r.stdout, `\x1b[2J`) != 2 {
		t.Errorf("want the sender and the recipient shown quoted: %s", r)
	}
}

// An immutable msg/ (chattr +i binds root too; needs root and a file
// system with the flag, as in CI): queue run sends nothing and exits 75
// saying why, rather than sending a copy on every run.
func TestQueueRunReadOnlySpool(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := submit.Account{Host: "127.0.0.1", Port: closedPort(t), Mode: smtp.StartTLS}
	if _, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
		strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	msg := filepath.Join(dir, "msg")
	if out, err := exec.Command("chattr", "+i", msg).CombinedOutput(); err != nil {
		t.Skipf("cannot make msg/ immutable: %v %s", err, out)
	}
	defer exec.Command("chattr", "-i", msg).Run()
	r := proc{args: []string{"queue", "run", "--queue-dir", dir}}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stderr, "nothing was sent") || !strings.Contains(r.stderr, "writable") {
		t.Errorf("want exit %d saying nothing was sent and how to fix it: %s", exitTempFail, r)
	}
}

// send --queue over a spool others may write to: the message is queued,
// the immediate delivery refused, and the command says why (exit 78), not
// that the delivery was interrupted.
func TestSendQueueUnsafeSpoolSaysWhy(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	if _, err := outbox.Open(dir, outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "msg"), 0o777)
	r := proc{args: []string{"send", "--queue", "--queue-dir", dir, "--server", "127.0.0.1:" + strconv.Itoa(closedPort(t)),
		"--tls", "none", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x", "--body", "x"}}.run(t)
	if r.code != exitConfig || !strings.Contains(r.stderr, "not delivered") || !strings.Contains(r.stderr, "mode 0777") || strings.Contains(r.stderr, "interrupted") {
		t.Errorf("want exit %d saying why: %s", exitConfig, r)
	}
}
