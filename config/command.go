package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// CommandTimeout bounds RunCommand when ctx has no earlier deadline: a
// password command that waits for input must not hang sendmail and its
// caller.
const CommandTimeout = 60 * time.Second

// maxCommandOutput is how much of a command's output RunCommand keeps; a
// password or token is far shorter.
const maxCommandOutput = 64 << 10

// RunCommand runs cmd with the system shell (sh -c, or cmd /C on Windows)
// with no standard input and returns the first line of its standard output
// without the line ending, as msmtp does for eval and passwordeval. The
// output never appears in the error, since it may be a password. The
// command is killed after CommandTimeout (or ctx's deadline), and its
// output is read to at most 64 KiB.
func RunCommand(ctx context.Context, cmd string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CommandTimeout)
		defer cancel()
	}
	var c *exec.Cmd
	if runtime.GOOS == "windows" {
		c = exec.CommandContext(ctx, "cmd", "/C", cmd)
	} else {
		c = exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	}
	out := &limitedBuffer{max: maxCommandOutput}
	stderr := &limitedBuffer{max: 4 << 10}
	c.Stdout, c.Stderr = out, stderr
	c.WaitDelay = time.Second // a child that keeps the pipes open cannot hold us
	if err := c.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("command %q did not finish in time (%w); check that it does not wait for input", cmd, ctx.Err())
		}
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

// limitedBuffer keeps the first max bytes written and discards the rest,
// still reporting every write as complete so the command is not killed by
// a broken pipe.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
