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

	"github.com/tlsmail/tlsmail/internal/testpki"
)

// TestCertUnreadableKey: a key the user may not read is an input error
// (66) that names the path and the mode. Root reads every file, so the
// command runs as nobody when the test runs as root.
func TestCertUnreadableKey(t *testing.T) {
	t.Parallel()
	s, err := testpki.NewGood()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, chain, key, err := s.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cert", "check", "--cert", chain, "--key", key, "--ca", ca}
	var r result
	if os.Geteuid() != 0 {
		r = runTLSMail(t, args...)
	} else {
		// Let nobody reach the files and the binary, but not read the key.
		for _, p := range []string{dir, filepath.Dir(tlsmailBin)} {
			for d := p; d != filepath.Dir(d); d = filepath.Dir(d) {
				fi, err := os.Stat(d)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm()&0o001 == 0 {
					if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for _, f := range []string{ca, chain} {
			if err := os.Chmod(f, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r = runAs(t, 65534, args...)
	}
	if r.code != 66 {
		t.Fatalf("exit %d, want 66\n%s", r.code, r)
	}
	for _, want := range []string{key, "permission denied", "mode 0600"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
}

// runAs runs the binary as another user (the test runs as root).
func runAs(t *testing.T, uid uint32, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tlsmailBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running tlsmail %q as uid %d: %v", args, uid, err)
	}
	return r
}
