package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair with the standard library only
// (Linux: /dev/ptmx, then unlockpt and ptsname as ioctls, as glibc does).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v (Linux has /dev/ptmx wherever devpts is mounted)", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Fatalf("ptsname: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("opening the terminal side: %v", err)
	}
	return m, s
}

// TestSendProgressOnTerminal runs the tlsmail binary as a user would: a
// message of more than progressMinBytes sent with standard error on a
// terminal (a pseudo-terminal here) draws the progress bar there, up to
// 100%; the same send with standard error a pipe writes no bar.
func TestSendProgressOnTerminal(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)
	body := bytes.Repeat([]byte("a line of a large message, to see the bar move\r\n"), progressMinBytes/48+1000)
	msg := append([]byte("From: Ann <ann@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: large\r\n\r\n"), body...)
	file := writeFile(t, "large.eml", msg, 0o644)
	args := []string{"send", "--server", srv.SMTPAddr(), "--ca", srv.CAFile(),
		"--user", testUser, "--password-env", passwordVar, "--message", file, "--timeout", "60s"}

	t.Run("terminal", func(t *testing.T) {
		master, slave := openPTY(t)
		defer master.Close()
		if !isTerminal(slave) {
			t.Fatal("isTerminal(a pseudo-terminal) = false")
		}
		// Whatever tlsmail writes to the terminal, read as it comes (a
		// terminal's buffer is small and a full one would block it).
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(master) // ends with EIO once no process holds the terminal side
			got <- b
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tlsmailBin, args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, authEnv()...)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, slave
		err := cmd.Run()
		slave.Close()
		var bar []byte
		select {
		case bar = <-got:
		case <-time.After(time.Minute):
			t.Fatal("the terminal's output did not end")
		}
		if err != nil {
			t.Fatalf("send: %v\nstdout: %s\nterminal: %q", err, stdout.String(), bar)
		}
		s := string(bar)
		if !strings.Contains(s, "tlsmail: sending [") || !strings.Contains(s, "100% ") {
			t.Fatalf("no progress bar up to 100%% on the terminal: %q", s[max(0, len(s)-300):])
		}
		if n := strings.Count(s, "\r"); n < 2 {
			t.Errorf("the bar was drawn %d times; a message of %d bytes read in pieces redraws it", n, len(msg))
		}
	})
	t.Run("pipe", func(t *testing.T) {
		r := cli{args: args, env: authEnv()}.run(t)
		if r.code != 0 {
			t.Fatalf("send: %s", r)
		}
		if strings.Contains(r.stderr, "tlsmail: sending") {
			t.Fatalf("a progress bar on a pipe: %q", r.stderr[:min(len(r.stderr), 300)])
		}
	})
	if !t.Failed() {
		waitMessages(t, srv, 2) // both sends delivered
	}
}
