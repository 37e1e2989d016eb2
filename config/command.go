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

// ErrFirstLineTooLong is in the error of RunCommand for a command whose
// first output line is longer than 64 KiB: taking its start would hand on
// a cut password.
var ErrFirstLineTooLong = errors.New("the first line of its output is longer than 64 KiB")

// ErrNoOutput is the Err of the *CommandError of a command that exited
// successfully without printing anything.
var ErrNoOutput = errors.New("printed nothing")

// CommandError is a command RunCommand ran that failed (exited with an
// error, or could not be started) or printed nothing.
//
// Its Error names the command and the failure, never the command's
// standard error: a password command may print secrets there (a password
// store names its entries, a script may echo what it read), so Stderr is
// for a person at the terminal only, never for a log, a file or a
// database.
type CommandError struct {
	Cmd    string // the command line as given
	Err    error  // an *exec.ExitError, the error of starting it, or ErrNoOutput
	Stderr string // the start (200 bytes) of its standard error, trimmed; "" if none
}

func (e *CommandError) Error() string {
	if e.Err == ErrNoOutput {
		return fmt.Sprintf("command %q %v", e.Cmd, e.Err)
	}
	return fmt.Sprintf("command %q failed: %v", e.Cmd, e.Err)
}

func (e *CommandError) Unwrap() error { return e.Err }

// commandWaitDelay is how long RunCommand waits, once the command is
// killed or has exited, for its output pipes to close: a process that left
// the command's process group (setsid) and kept them open cannot hold the
// caller longer than the deadline plus this.
const commandWaitDelay = 500 * time.Millisecond

// RunCommand runs cmd with the system shell (sh -c, or cmd /C on Windows)
// with no standard input and returns the first line of its standard output
// without the line ending, as msmtp does for eval and passwordeval. The
// output never appears in the error, since it may be a password; nor does
// its standard error (a *CommandError holds it apart, see there).
//
// The command is killed after CommandTimeout (or at ctx's deadline or
// cancellation) together with every process it started: it runs in a
// process group of its own on Unix (so it cannot read the terminal) and in
// a job object on Windows. RunCommand returns at most about half a second
// after the deadline. Only the first 64 KiB of the output is kept, and
// whatever the command prints beyond that is read and discarded, so a
// command that never stops printing costs no memory, only time up to the
// deadline. A first line longer than 64 KiB is an error wrapping
// ErrFirstLineTooLong, never cut short.
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
	// Two bytes past the bound: a first line of maxCommandOutput bytes
	// still shows its line ending, a longer one shows it is longer.
	out := &capWriter{max: maxCommandOutput + 2}
	stderr := &capWriter{max: 4 << 10}
	c.Stdout, c.Stderr = out, stderr
	c.WaitDelay = commandWaitDelay
	g, err := newProcessGroup(c)
	if err != nil {
		return "", fmt.Errorf("command %q: %w", cmd, err)
	}
	defer g.close()
	err = c.Start()
	if err == nil {
		if aerr := g.started(); aerr != nil {
			g.kill()
			_ = c.Wait()
			return "", fmt.Errorf("command %q: %w", cmd, aerr)
		}
		err = c.Wait()
		if errors.Is(err, exec.ErrWaitDelay) && ctx.Err() == nil {
			// The command exited successfully; a process it left in the
			// background kept its output open, which WaitDelay closed.
			err = nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("command %q did not finish in time (%w); check that it does not wait for input", cmd, ctx.Err())
		}
		msg := strings.TrimSpace(string(stderr.buf))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return "", &CommandError{Cmd: cmd, Err: err, Stderr: msg}
	}
	if len(out.buf) == 0 {
		return "", &CommandError{Cmd: cmd, Err: ErrNoOutput}
	}
	line, _, _ := bytes.Cut(out.buf, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > maxCommandOutput {
		return "", fmt.Errorf("command %q: %w", cmd, ErrFirstLineTooLong)
	}
	return string(line), nil
}

// capWriter keeps the first max bytes written and discards the rest, still
// reporting every write as complete so the command is not killed by a
// broken pipe. It is deliberately only an io.Writer: a type that also had
// a ReadFrom method (as an embedded bytes.Buffer has) would be filled by
// io.Copy through that method, past the cap.
type capWriter struct {
	buf []byte
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}
