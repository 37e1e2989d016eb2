//go:build windows

package config

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// helperEnv, when set in the environment, makes TestHelperSleeper write its
// process id to the file it names and then sleep: it is the grandchild that
// a password command (cmd /C) leaves running.
const helperEnv = "TLSMAIL_TEST_SLEEPER_PID_FILE"

func TestHelperSleeper(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("a helper process for TestRunCommandKillsChildren")
	}
	os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o600)
	time.Sleep(2 * time.Minute)
}

// TestRunCommandKillsChildren times out a command (cmd /C) whose child is
// this test binary, sleeping: the job object ends it with cmd, instead of
// leaving it running.
func TestRunCommandKillsChildren(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(exe, " \"&^") {
		t.Skipf("the test binary's path %q needs quoting for cmd", exe)
	}
	// Not t.TempDir: under Wine, removing the file can fail ("Invalid
	// function") and fail the test at cleanup.
	dir, err := os.MkdirTemp("", "runcommand")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pidFile := filepath.Join(dir, "pid")
	t.Setenv(helperEnv, pidFile)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = RunCommand(ctx, exe+" -test.run=^TestHelperSleeper$")
	if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the helper did not start: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return // already gone
	}
	defer windows.CloseHandle(h)
	if ev, _ := windows.WaitForSingleObject(h, 10000); ev != windows.WAIT_OBJECT_0 {
		windows.TerminateProcess(h, 1)
		t.Fatalf("the command's child (pid %d) is still running after the timeout", pid)
	}
}
