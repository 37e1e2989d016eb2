//go:build linux

package interop

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes cmd receive SIGTERM if the test process dies (a test
// binary killed on timeout runs no cleanups), so that no daemon outlives
// the test that started it.
func dieWithTest(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
