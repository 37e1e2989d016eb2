//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An item names a command that gives its password: a run must never act on
// a spool file someone else could have written. Each case spoils one item
// (or its state) of three; the spoilt item is never handed to the
// deliverer and is moved to corrupt/ with a warning, the others go out.
func TestRunRefusesUntrustedFiles(t *testing.T) {
	evil := testSettings
	evil.Secret = testSecret{Source: "command", Ref: "touch /tmp/tlsmail-pwned"}
	cases := []struct {
		name      string
		root      bool // chown to another uid: only root can
		spoil     func(t *testing.T, q *Queue, id string)
		wantState bool // the item itself is fine: only its state is moved aside
	}{
		{name: "other owner", root: true, spoil: func(t *testing.T, q *Queue, id string) {
			chown(t, q.sub("msg", id+msgSuffix))
		}},
		{name: "group writable", spoil: func(t *testing.T, q *Queue, id string) {
			os.Chmod(q.sub("msg", id+msgSuffix), 0o620)
		}},
		{name: "world writable", spoil: func(t *testing.T, q *Queue, id string) {
			os.Chmod(q.sub("msg", id+msgSuffix), 0o602)
		}},
		{name: "symbolic link", spoil: func(t *testing.T, q *Queue, id string) {
			p := q.sub("msg", id+msgSuffix)
			elsewhere := filepath.Join(t.TempDir(), "item")
			if err := os.Rename(p, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, p); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "fifo", spoil: func(t *testing.T, q *Queue, id string) {
			p := q.sub("msg", id+msgSuffix)
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "state of another owner", root: true, wantState: true, spoil: func(t *testing.T, q *Queue, id string) {
			p := q.sub("msg", id+stateSuffix)
			q.writeState(p, state{Attempts: 1, NextAttempt: t0.Add(-1)})
			chown(t, p)
		}},
		{name: "state group writable", wantState: true, spoil: func(t *testing.T, q *Queue, id string) {
			p := q.sub("msg", id+stateSuffix)
			q.writeState(p, state{Attempts: 1, NextAttempt: t0.Add(-1)})
			os.Chmod(p, 0o660)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				// Giving a file to another user needs root; CI runs the
				// tests as root, so this case runs there.
				t.Skip("chown to another uid needs root")
			}
			q, _, logs := newQueue(t)
			var ids []string
			for range 3 {
				ids = append(ids, enqueue(t, q, evil, "Subject: x\r\n\r\nbody\r\n"))
			}
			bad := ids[1]
			c.spoil(t, q, bad)
			var got []string
			st, err := q.Run(context.Background(), RunConfig{Force: true,
				Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
					for _, it := range batch {
						got = append(got, it.ID)
						report(it, Result{Outcome: Delivered})
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			if c.wantState {
				// The item is ours and is delivered; its state was not
				// trusted (not read) and is moved aside.
				if len(got) != 3 || st.Delivered != 3 {
					t.Errorf("delivered %v (%+v), want all three", got, st)
				}
				if !strings.Contains(logs.String(), "untrusted spool file") {
					t.Errorf("no warning: %q", logs.String())
				}
				assertAside(t, q, bad+stateSuffix)
				return
			}
			for _, id := range got {
				if id == bad {
					t.Fatalf("the untrusted item was handed to the deliverer")
				}
			}
			if len(got) != 2 || st.Corrupt != 1 {
				t.Errorf("delivered %v, stats %+v: want the two good items and one moved aside", got, st)
			}
			if !strings.Contains(logs.String(), "untrusted spool file") || !strings.Contains(logs.String(), "refused unread") {
				t.Errorf("warning %q does not say the file was refused", logs.String())
			}
			if _, err := os.Lstat(q.sub("msg", bad+msgSuffix)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the untrusted item is still in msg/: %v", err)
			}
			assertAside(t, q, bad+msgSuffix)
		})
	}
}

func chown(t *testing.T, p string) {
	t.Helper()
	if err := os.Lchown(p, 12345, 12345); err != nil {
		t.Fatal(err)
	}
}

func assertAside(t *testing.T, q *Queue, name string) {
	t.Helper()
	if _, err := os.Lstat(q.sub("corrupt", name)); err != nil {
		t.Errorf("%s not moved to corrupt/: %v", name, err)
	}
}

// A spool directory (or subdirectory) others could write to, a link, or
// one of another user: Run refuses to start, reads nothing and says why.
func TestRunRefusesUnsafeSpoolDir(t *testing.T) {
	cases := []struct {
		name  string
		root  bool
		spoil func(t *testing.T, q *Queue)
		want  string
	}{
		{"msg group writable", false, func(t *testing.T, q *Queue) { os.Chmod(q.sub("msg"), 0o770) }, "mode 0770"},
		{"spool world writable", false, func(t *testing.T, q *Queue) { os.Chmod(q.Dir(), 0o777) }, "mode 0777"},
		{"tmp a link", false, func(t *testing.T, q *Queue) {
			os.Remove(q.sub("tmp"))
			os.Symlink(t.TempDir(), q.sub("tmp"))
		}, "symbolic link"},
		{"msg of another owner", true, func(t *testing.T, q *Queue) { chown(t, q.sub("msg")) }, "owned by uid 12345"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("chown to another uid needs root") // CI runs as root
			}
			q, _, _ := newQueue(t)
			id := enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
			c.spoil(t, q)
			called := false
			_, err := q.Run(context.Background(), RunConfig{Force: true,
				Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
					called = true
					return nil
				}})
			if !errors.Is(err, ErrUnsafeSpool) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want ErrUnsafeSpool saying %q", err, c.want)
			}
			if called {
				t.Error("the deliverer was called")
			}
			if _, err := os.Stat(q.sub("msg", id+msgSuffix)); err != nil {
				t.Errorf("the item was touched: %v", err)
			}
		})
	}
}

// A spool whose msg/ the runner cannot write: a delivered item could not
// be removed and every later run would send it again, so Run delivers
// nothing and fails with ErrReadOnly. Permission bits do not bind root, so
// as root (CI) the run is made by a child process running as nobody over
// a spool nobody owns, with msg/ mode 0555; as another user the run is made
// in this process. Either way a real directory refuses a real write.
func TestRunReadOnlySpool(t *testing.T) {
	q, _, _ := newQueue(t)
	id := enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
	msg := q.sub("msg")
	t.Cleanup(func() { os.Chmod(msg, 0o700) })
	if os.Geteuid() != 0 {
		if err := os.Chmod(msg, 0o555); err != nil {
			t.Fatal(err)
		}
		called := false
		_, err := q.Run(context.Background(), RunConfig{Force: true,
			Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
				called = true
				return nil
			}})
		if !errors.Is(err, ErrReadOnly) || called {
			t.Fatalf("Run = %v (deliverer called: %v), want ErrReadOnly and nothing delivered", err, called)
		}
		return
	}
	const nobody = 65534
	// The child must reach the spool and its own binary: both go in a
	// directory nobody may enter, and the spool becomes nobody's.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for d := work; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir makes 0700 directories
	}
	bin := filepath.Join(work, "outbox.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := q.Dir(); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir and testdir make 0700 directories
	}
	err = filepath.Walk(q.Dir(), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "OUTBOX_HELPER=readonly", "OUTBOX_DIR="+q.Dir())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v: %s", err, out)
		}
		return string(out)
	}
	if err := os.Chmod(msg, 0o555); err != nil {
		t.Fatal(err)
	}
	if out := run(); strings.Contains(out, "DELIVERED") || !strings.Contains(out, "read-only") || !strings.Contains(out, "nothing was sent") {
		t.Errorf("run over a read-only msg/ as nobody: %s", out)
	}
	if _, err := os.Stat(q.sub("msg", id+msgSuffix)); err != nil {
		t.Errorf("the item is gone: %v", err)
	}
	// Control: with msg/ writable, the same child delivers and removes it.
	os.Chmod(msg, 0o700)
	if out := run(); !strings.Contains(out, "DELIVERED "+id) || !strings.Contains(out, "OK") {
		t.Errorf("control run as nobody: %s", out)
	}
	if _, err := os.Stat(q.sub("msg", id+msgSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control: the delivered item was not removed: %v", err)
	}
}

// An item file the kernel refuses to unlink whatever the directory allows
// (immutable, chattr +i; root only, on a file system with the flag): it is
// skipped, never delivered, and counted as stuck; the others go out.
func TestRunSkipsImmutableItem(t *testing.T) {
	q, _, logs := newQueue(t)
	a := enqueue(t, q, testSettings, "Subject: a\r\n\r\nbody\r\n")
	b := enqueue(t, q, testSettings, "Subject: b\r\n\r\nbody\r\n")
	p := q.sub("msg", b+msgSuffix)
	if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
		// Needs root and a file system with the flag (ext4, xfs, btrfs);
		// CI runs as root on ext4.
		t.Skipf("cannot make the item immutable: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", p).Run() })
	var got []string
	st, err := q.Run(context.Background(), RunConfig{Force: true,
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
			for _, it := range batch {
				got = append(got, it.ID)
				report(it, Result{Outcome: Delivered})
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != a || st.Stuck != 1 || st.Delivered != 1 {
		t.Errorf("delivered %v, stats %+v: want only %s delivered and one stuck", got, st, a)
	}
	if !strings.Contains(logs.String(), "could not be removed once delivered") {
		t.Errorf("no warning: %q", logs.String())
	}
}
