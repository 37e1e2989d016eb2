package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The peak RSS of tlsmail's own memory, read from /proc while it
		// runs. Not wait4's ru_maxrss: exec folds the high-water mark of
		// the memory the child shared with the test process (Go starts
		// children with vfork) into it, so it reports the test's own size
		// (69 MB once the package's other tests had grown the process).
		hwm := make(chan int64)
		go func(pid int) {
			var peak int64
			for {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				if err != nil {
					break
				}
				// Before exec the child still shares the test's memory
				// (and its name): count only readings of tlsmail itself.
				if bytes.HasPrefix(b, []byte("Name:\t"+filepath.Base(tlsmailBin)+"\n")) {
					peak = max(peak, vmHWM(b))
				}
				if bytes.Contains(b, []byte("State:\tZ")) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			hwm <- peak
		}(cmd.Process.Pid)
		err := cmd.Wait()
		cancel()
		maxRSS := <-hwm
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		if maxRSS == 0 {
			t.Fatalf("%s: could not read the process's peak RSS (VmHWM) from /proc", name)
		}
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

// vmHWM returns the VmHWM line of a /proc/PID/status file, in bytes.
func vmHWM(status []byte) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
