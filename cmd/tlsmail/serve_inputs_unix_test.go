//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeClientCANotRegular: `serve --client-ca` given a named pipe
// without a writer is refused at once (78, naming the flag and why), as
// send's --ca is: the CA file is read by submit.LoadCAFile, which opens
// only a regular file and reads a bounded amount. Before, serve read it
// with os.ReadFile: the open blocked for ever on the pipe (and a device
// such as /dev/zero was read until memory ran out).
func TestServeClientCANotRegular(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A generous upper bound against the hang, not a speed check.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tlsmailBin, "serve", "--smtp", "127.0.0.1:0", "--smtps", "", "--dir", t.TempDir(), "--client-ca", fifo)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("serve --client-ca FIFO did not finish: %s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitConfig || !strings.Contains(stderr.String(), "--client-ca") ||
		!strings.Contains(stderr.String(), "not a regular file") {
		t.Errorf("serve --client-ca FIFO: %v, want exit %d naming --client-ca and why\n%s", err, exitConfig, stderr.String())
	}
}
