//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outbox

import (
	"context"
	"errors"
	"os"
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
	evil.Secret = SecretRef{Source: "command", Ref: "touch /tmp/tlsmail-pwned"}
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
