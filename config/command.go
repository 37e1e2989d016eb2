package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
)

// RunCommand runs cmd with the system shell (sh -c, or cmd /C on Windows)
// with no standard input and returns the first line of its standard output
// without the line ending, as msmtp does for eval and passwordeval. The
// output never appears in the error, since it may be a password.
func RunCommand(ctx context.Context, cmd string) (string, error) {
	var c *exec.Cmd
	if runtime.GOOS == "windows" {
		c = exec.CommandContext(ctx, "cmd", "/C", cmd)
	} else {
		c = exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	}
	var out, stderr bytes.Buffer
	c.Stdout = &out
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg != "" {
			return "", fmt.Errorf("command %q failed: %w: %s", cmd, err, msg)
		}
		return "", fmt.Errorf("command %q failed: %w", cmd, err)
	}
	if out.Len() == 0 {
		return "", errors.New("command " + fmt.Sprintf("%q", cmd) + " printed nothing")
	}
	line, _, _ := bytes.Cut(out.Bytes(), []byte{'\n'})
	return string(bytes.TrimSuffix(line, []byte{'\r'})), nil
}
