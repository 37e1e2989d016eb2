//go:build unix

package config

import (
	"os/exec"
	"syscall"
)

// processGroup puts a command in a process group of its own, so that on a
// timeout or cancellation the command and everything it started (a shell's
// children, a pipeline) are killed together instead of being left to init.
type processGroup struct{ c *exec.Cmd }

func newProcessGroup(c *exec.Cmd) (*processGroup, error) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g := &processGroup{c: c}
	c.Cancel = func() error {
		g.kill()
		return nil
	}
	return g, nil
}

// started is called once the command runs; the group exists from its start.
func (g *processGroup) started() error { return nil }

// kill sends SIGKILL to the whole process group (whose id is the command's
// process id, by Setpgid), or to the command alone if the group is gone.
func (g *processGroup) kill() {
	if g.c.Process == nil {
		return
	}
	if err := syscall.Kill(-g.c.Process.Pid, syscall.SIGKILL); err != nil {
		_ = g.c.Process.Kill()
	}
}

func (g *processGroup) close() {}
