package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTranscriptUnwritable: every command with --transcript reports a path
// it cannot write the same way, before any connection: a configuration
// error (exit 78) with the fix, except a message already queued (send
// --queue), which is still delivered, with a warning.
func TestTranscriptUnwritable(t *testing.T) {
	srv := startServer(t, nil)
	bad := filepath.Join(t.TempDir(), "no-such-dir", "transcript.txt")
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		messages int // stored by the server afterwards
	}{
		{"send", baseSend(srv.SMTPAddr(), srv.CAFile(), "--transcript", bad), exitConfig,
			"give --transcript a writable path", 0},
		{"probe", []string{"probe", "--ca", srv.CAFile(), "--name", "localhost", "--transcript", bad, srv.SMTPAddr()}, exitConfig,
			"give --transcript a writable path", 0},
		{"queue run", []string{"queue", "run", "--queue-dir", t.TempDir(), "--transcript", bad}, exitConfig,
			"give --transcript a writable path", 0},
		{"send --queue", baseSend(srv.SMTPAddr(), srv.CAFile(), "--queue", "--queue-dir", t.TempDir(), "--transcript", bad), 0,
			"tlsmail: warning: cannot write the transcript: open ", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli{args: tt.args, env: authEnv()}.run(t)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stderr, "cannot write the transcript") {
				t.Errorf("exit %d, want %d; stderr should say %q:\n%s", r.code, tt.code, tt.stderr, r)
			}
			if tt.messages > 0 {
				waitMessages(t, srv, tt.messages)
			}
		})
	}
	if ms, _ := srv.Messages(); len(ms) != 1 {
		t.Errorf("the server stored %d messages, want 1 (only the queued one)", len(ms))
	}
}
