//go:build windows

package config

import (
	"fmt"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processGroup holds a command in a job object created with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, so that on a timeout or cancellation
// the command and every process it started are terminated together, and
// none outlives RunCommand (nor this process, whose exit closes the job).
// A child that must outlive the command (an agent it starts) can leave the
// job with CREATE_BREAKAWAY_FROM_JOB, which the job allows.
//
// The command is assigned to the job right after it starts, so a process
// it creates in those first microseconds is not held; cmd /C has not
// parsed its command line by then.
type processGroup struct {
	c   *exec.Cmd
	job windows.Handle
}

func newProcessGroup(c *exec.Cmd) (*processGroup, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("creating a job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("setting up a job object: %w", err)
	}
	g := &processGroup{c: c, job: job}
	c.Cancel = func() error {
		g.kill()
		return nil
	}
	return g, nil
}

// started assigns the running command to the job.
func (g *processGroup) started() error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(g.c.Process.Pid))
	if err != nil {
		return fmt.Errorf("opening the command's process: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(g.job, h); err != nil {
		return fmt.Errorf("assigning the command to a job object: %w", err)
	}
	return nil
}

// kill terminates every process in the job, and the command itself in case
// it was never assigned.
func (g *processGroup) kill() {
	_ = windows.TerminateJobObject(g.job, 1)
	if g.c.Process != nil {
		_ = g.c.Process.Kill()
	}
}

// close closes the job; KILL_ON_JOB_CLOSE ends what is still in it.
func (g *processGroup) close() { windows.CloseHandle(g.job) }
