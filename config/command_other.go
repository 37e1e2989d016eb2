//go:build !unix && !windows

package config

import "os/exec"

// processGroup, on systems without process groups or job objects, kills
// the command alone (exec.CommandContext's default).
type processGroup struct{}

func newProcessGroup(*exec.Cmd) (*processGroup, error) { return &processGroup{}, nil }
func (*processGroup) started() error                   { return nil }
func (*processGroup) kill()                            {}
func (*processGroup) close()                           {}
