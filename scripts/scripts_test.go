//go:build !windows

// Package scripts holds the tests of the shell scripts in this directory
// (the scripts themselves are not Go).
package scripts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBin returns a directory for the front of PATH with an `id` that says
// the user is not root (uid 1000), so that no script under test can try to
// install packages, and a link to each of the commands named.
func fakeBin(t *testing.T, link ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "id"), []byte("#!/bin/sh\necho 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range link {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runScript runs script with bash under env (added to a copy of this
// process's environment without CI and TLSMAIL_REQUIRE_WINE), bounded in
// time, and returns its exit code and combined output.
func runScript(t *testing.T, script string, env []string, args ...string) (int, string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, append([]string{script}, args...)...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CI", "TLSMAIL_REQUIRE_WINE", "TLSMAIL_SKIP_WINE", "TLSMAIL_WINE_READY", "TLSMAIL_WINEPREFIX":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in time:\n%s", script, out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", script, err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// TestWineRequiredUnderCI: when Wine cannot run, scripts/wine-test.sh and
// scripts/wine-e2e.sh print SKIP and exit 0 on a developer's machine, but
// fail (exit 1, "FAIL: ...") under CI=true or TLSMAIL_REQUIRE_WINE=1, so
// that CI cannot pass green without the Windows tests (issue 16 item 8).
// Wine is made unable to run two ways: the Wine tools are not on PATH (and
// the user cannot install them), and a Wine prefix without system32.
func TestWineRequiredUnderCI(t *testing.T) {
	t.Parallel()
	// A prefix that looks made (system.reg) but has no system32.
	brokenPrefix := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenPrefix, "system.reg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noTools := fakeBin(t, "dirname") // no wine64, no x86_64-w64-mingw32-gcc, no apt-get
	withTools := fakeBin(t)          // only id: the machine's PATH follows
	type setup struct {
		name string
		env  []string
	}
	setups := []setup{
		{"tools-missing", []string{"PATH=" + noTools, "TLSMAIL_WINEPREFIX=" + brokenPrefix}},
		{"prefix-broken", []string{"PATH=" + withTools + ":" + os.Getenv("PATH"), "TLSMAIL_WINEPREFIX=" + brokenPrefix}},
	}
	modes := []struct {
		name     string
		env      []string
		required bool
	}{
		{"developer", nil, false},
		{"CI=true", []string{"CI=true"}, true},
		{"CI=1", []string{"CI=1"}, true},
		{"TLSMAIL_REQUIRE_WINE=1", []string{"TLSMAIL_REQUIRE_WINE=1"}, true},
		{"CI=false", []string{"CI=false"}, false},
	}
	scripts := []struct {
		path string
		args []string
	}{
		{"wine-test.sh", nil},
		{"wine-test.sh", []string{"--setup-only"}},
		{"wine-e2e.sh", nil},
	}
	for _, s := range setups {
		for _, m := range modes {
			for _, sc := range scripts {
				if s.name == "tools-missing" && sc.path == "wine-e2e.sh" {
					continue // wine-e2e.sh needs a shell's tools before it calls wine-test.sh
				}
				name := s.name + "/" + m.name + "/" + sc.path + strings.Join(sc.args, "")
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					code, out := runScript(t, sc.path, append(append([]string{}, s.env...), m.env...), sc.args...)
					switch {
					case m.required && (code != 1 || !strings.Contains(out, "FAIL: Windows tests under Wine cannot run")):
						t.Errorf("exit %d, want 1 with FAIL:\n%s", code, out)
					case m.required && strings.Contains(out, "SKIP"):
						t.Errorf("required, yet the output says SKIP:\n%s", out)
					case !m.required && (code != 0 || !strings.Contains(out, "SKIP: Windows tests under Wine")):
						t.Errorf("exit %d, want 0 with SKIP:\n%s", code, out)
					}
				})
			}
		}
	}
}

// TestTestShRefusesSkipWineUnderCI: scripts/test.sh (the README's test
// command) refuses TLSMAIL_SKIP_WINE=1 under CI=true before doing anything.
// PATH holds no go and id says non-root, so that a test.sh that went on
// could neither install packages nor run the suite (it would fail with
// another code).
func TestTestShRefusesSkipWineUnderCI(t *testing.T) {
	t.Parallel()
	bin := fakeBin(t, "dirname", "bash", "env")
	code, out := runScript(t, "test.sh", []string{"PATH=" + bin, "CI=true", "TLSMAIL_SKIP_WINE=1"})
	if code != 1 || !strings.Contains(out, "CI must run the Windows tests under Wine") {
		t.Errorf("exit %d, want 1 with the refusal:\n%s", code, out)
	}
}
