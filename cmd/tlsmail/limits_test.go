package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSendRefusesOverlongAddresses: a 100,000-character --to used to be
// accepted, sent, and dropped by the server (exit 75, and a queued copy
// retried for days). The limits of RFC 5321 section 4.5.3.1 are checked
// before connecting and before queueing: exit 64, nothing queued.
func TestSendRefusesOverlongAddresses(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 100000) + "@example.org"
	queue := filepath.Join(t.TempDir(), "queue")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--to of 100,000 characters", []string{"--to", huge}, "RFC 5321"},
		{"local part of 65", []string{"--to", strings.Repeat("l", 65) + "@example.org"}, "local part"},
		{"--from path of 257", []string{"--from", "a@" + strings.Repeat("d", 253), "--to", "b@example.org"}, "path"},
		{"--defer queues nothing", []string{"--to", huge, "--defer", "--queue-dir", queue}, "RFC 5321"},
		{"--message recipients", []string{"--message", writeFile(t, "m.eml",
			[]byte("From: a@example.com\r\nTo: "+strings.Repeat("x", 300)+"@example.org\r\nSubject: s\r\n\r\nbody\r\n"), 0o600)}, "RFC 5321"},
	}
	for _, tc := range tests {
		args := []string{"send", "--server", "127.0.0.1:1", "--timeout", "5s"}
		if !strings.Contains(strings.Join(tc.args, " "), "--from") {
			args = append(args, "--from", "a@example.com")
		}
		if !strings.Contains(strings.Join(tc.args, " "), "--message") {
			args = append(args, "--body", "hi")
		}
		r := runWithin(t, 30*time.Second, append(args, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d and %q in the error, got exit %d\n%.2000s", tc.name, exitUsage, tc.want, r.code, r.stderr)
		}
		if len(r.stderr) > 2000 {
			t.Errorf("%s: %d bytes of error output; the address must be shortened", tc.name, len(r.stderr))
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(queue, "msg")); len(entries) > 0 {
		t.Errorf("%d items were queued", len(entries))
	}
}

// runWithin runs the binary, killing it after limit (a run that hangs is a
// failure of its own, reported as exit -1).
func runWithin(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, tlsmailBin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.code = -1
		r.stderr += "(killed: did not finish within " + limit.String() + ")"
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running tlsmail %q: %v", args, err)
	}
	return r
}
