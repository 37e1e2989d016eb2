package testpeer

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNeedMissing runs itself as a child with a program that does not exist:
// without the variable the child skips, with it the child fails.
func TestNeedMissing(t *testing.T) {
	if os.Getenv("TESTPEER_CHILD") == "1" {
		Need(t, "tlsmail-no-such-peer", "no-such-package")
		t.Log("NEED RETURNED")
		return
	}
	for _, tc := range []struct {
		require  string
		wantFail bool
		wantText string
	}{
		{"", false, "SKIP"},
		{"0", false, "SKIP"},
		{"1", true, "its absence is a failure"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTPEER_CHILD=1", RequireEnv+"="+tc.require)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("%s=%q: failed=%v, want %v\n%s", RequireEnv, tc.require, failed, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.wantText) || !strings.Contains(string(out), "no-such-package") {
			t.Errorf("%s=%q: output lacks %q and the package name:\n%s", RequireEnv, tc.require, tc.wantText, out)
		}
		if strings.Contains(string(out), "NEED RETURNED") {
			t.Errorf("%s=%q: Need returned for a missing program", RequireEnv, tc.require)
		}
	}
}

func TestFindPresent(t *testing.T) {
	if _, ok := Find("sh"); !ok {
		t.Error("Find(sh) = false on a system with /bin/sh")
	}
}
