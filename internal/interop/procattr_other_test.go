//go:build !linux

package interop

import "os/exec"

// dieWithTest is a no-op where the parent-death signal does not exist:
// only the tests' cleanups stop the daemons there.
func dieWithTest(cmd *exec.Cmd) {}
