package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPasswordCommandEndlessOutput: `yes` as --password-cmd, and as an
// msmtp passwordeval (timeout 1), prints without end. tlsmail keeps 64 KiB of it and
// stops it at the timeout: the process stays far below 64 MB (it grew by
// about 200 MB/s before, past 1 GB) and ends with a configuration error
// soon after --timeout (3 s became 7.6 s before).
func TestPasswordCommandEndlessOutput(t *testing.T) {
	t.Parallel()
	rc := writeFile(t, "msmtprc", []byte("account default\nhost 127.0.0.1\nport 1\ntls on\ntls_starttls on\nfrom a@example.com\nauth on\nuser u\npasswordeval yes\ntimeout 1\n"), 0o600)
	msg := []string{"--to", "b@example.org", "--body", "b"}
	for name, args := range map[string][]string{
		"--password-cmd": {"send", "--server", "127.0.0.1:1", "--from", "a@example.com", "--user", "u", "--password-cmd", "yes", "--timeout", "1s"},
		"passwordeval":   {"send", "--config", rc},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, tlsmailBin, append(args, msg...)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		maxRSS := ru.Maxrss << 10 // KiB on Linux
		t.Logf("%s: exit %d, max RSS %d MB", name, ee.ExitCode(), maxRSS>>20)
		if maxRSS > 64<<20 {
			t.Errorf("%s: max RSS %d MB, want under 64 MB", name, maxRSS>>20)
		}
		if ee.ExitCode() != exitConfig || !strings.Contains(stderr.String(), "the "+name) ||
			!strings.Contains(stderr.String(), "did not finish in time") {
			t.Errorf("%s: exit %d, want %d and a timeout of %s:\n%s", name, ee.ExitCode(), exitConfig, name, stderr.String())
		}
	}
}
