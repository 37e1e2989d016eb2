package outbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// The test binary re-executes itself as a helper process (an enqueuer to
// kill, or a queue runner) when OUTBOX_HELPER is set.
func TestMain(m *testing.M) {
	switch os.Getenv("OUTBOX_HELPER") {
	case "enqueue":
		helperEnqueue()
		os.Exit(0)
	case "run":
		helperRun()
		os.Exit(0)
	case "runkill":
		helperRunKill()
		os.Exit(0)
	case "readonly":
		helperReadOnly()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const crashBody = 300 << 10 // larger than one copy buffer

func crashContent() string { return strings.Repeat("0123456789abcdef", crashBody/16) }

// stallReader yields its data, then announces the stall and blocks forever.
type stallReader struct {
	r      io.Reader
	stdout *os.File
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		fmt.Fprintln(s.stdout, "STAGE copy")
		select {}
	}
	return n, err
}

func helperEnqueue() {
	q, err := Open(os.Getenv("OUTBOX_DIR"), Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	stage := os.Getenv("OUTBOX_STAGE")
	q.lim.hook = func(s string) {
		if s == stage {
			fmt.Println("STAGE", s)
			select {}
		}
	}
	body := crashContent()
	var r io.Reader = strings.NewReader(body)
	if stage == "copy" {
		// Half the message, then a stall in the middle of the content.
		r = &stallReader{r: strings.NewReader(body[:len(body)/2]), stdout: os.Stdout}
	}
	id, err := q.EnqueueData(context.Background(), Envelope{From: "a@b", To: []string{"c@d"}}, testSettings.data(), r)
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	fmt.Println("DONE", id)
	select {} // wait to be killed, as a sendmail killed after enqueueing
}

// TestKillDuringEnqueue kills (SIGKILL) an enqueuing process at each stage
// and checks that the spool then holds either nothing or the complete
// message, never a partial item, and that a run cleans up after it.
func TestKillDuringEnqueue(t *testing.T) {
	tests := []struct {
		stage    string
		wantItem bool
	}{
		{"copy", false},
		{"synced-before", false},
		{"synced", false},
		{"renamed", true},
		{"done", true},
	}
	for _, tt := range tests {
		t.Run(tt.stage, func(t *testing.T) {
			dir := testdir.New(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "OUTBOX_HELPER=enqueue", "OUTBOX_DIR="+dir, "OUTBOX_STAGE="+tt.stage)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			want := "STAGE " + tt.stage
			if tt.stage == "done" {
				want = "DONE "
			}
			if !strings.HasPrefix(line, want) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q, want %q", line, want)
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
				t.Fatal(err)
			}
			cmd.Wait()

			q, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			items, err := q.List()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantItem {
				if len(items) != 0 {
					t.Fatalf("%d items visible after a kill before the rename", len(items))
				}
				left, _ := os.ReadDir(q.sub("tmp"))
				if len(left) != 1 {
					t.Fatalf("tmp/ holds %d files, want the dead writer's one", len(left))
				}
				// Once it is old enough, a run removes it: the dead
				// process's lock is gone.
				old := time.Now().Add(-2 * time.Minute)
				os.Chtimes(q.sub("tmp", left[0].Name()), old, old)
			} else {
				if len(items) != 1 {
					t.Fatalf("%d items after a kill after the rename, want 1", len(items))
				}
				if got := readAll(t, items[0]); got != crashContent() {
					t.Fatalf("item content differs (%d bytes, want %d)", len(got), crashBody)
				}
			}
			delivered := 0
			st, err := q.Run(context.Background(), RunConfig{Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
				for _, it := range batch {
					delivered++
					report(it, Result{Outcome: Delivered})
				}
				return nil
			}})
			if err != nil || st.Corrupt != 0 {
				t.Fatalf("Run = %+v, %v", st, err)
			}
			if wantN := map[bool]int{true: 1, false: 0}[tt.wantItem]; delivered != wantN {
				t.Errorf("delivered %d, want %d", delivered, wantN)
			}
			for _, sub := range []string{"tmp", "msg", "corrupt"} {
				if left, _ := os.ReadDir(q.sub(sub)); len(left) != 0 {
					t.Errorf("%s/ still holds %d files", sub, len(left))
				}
			}
		})
	}
}

func helperRun() {
	dir, logPath := os.Getenv("OUTBOX_DIR"), os.Getenv("OUTBOX_LOG")
	q, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	defer log.Close()
	inflight := filepath.Join(filepath.Dir(logPath), "inflight")
	deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			// A marker file per item being delivered: O_EXCL fails if
			// another process is delivering the same item now.
			marker := filepath.Join(inflight, it.ID)
			f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				fmt.Fprintf(log, "DUP %s\n", it.ID)
			} else {
				f.Close()
			}
			fmt.Fprintf(log, "%s\n", it.ID)
			os.Remove(marker)
			report(it, Result{Outcome: Delivered})
		}
		return nil
	}
	for {
		if _, err := q.Run(context.Background(), RunConfig{Deliver: deliver, Parallel: 2, BatchSize: 5}); err != nil {
			fmt.Println("ERROR", err)
			return
		}
		items, err := q.List()
		if err != nil || len(items) == 0 {
			fmt.Println("DONE")
			return
		}
	}
}

// TestConcurrentRunnerProcesses runs two queue runner processes over the
// same spool and checks that every item is delivered exactly once.
func TestConcurrentRunnerProcesses(t *testing.T) {
	dir := testdir.New(t)
	work := testdir.New(t)
	os.Mkdir(filepath.Join(work, "inflight"), 0o700)
	q, _ := Open(dir, Options{})
	const n = 300
	want := map[string]bool{}
	for i := range n {
		s := testSettings
		s.Host = fmt.Sprintf("mx%d.example", i%7)
		want[enqueue(t, q, s, fmt.Sprint("body ", i))] = true
	}
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "OUTBOX_HELPER=run", "OUTBOX_DIR="+dir,
			"OUTBOX_LOG="+filepath.Join(work, fmt.Sprintf("log%d", i)))
		cmd.Stderr = os.Stderr
		cmds = append(cmds, cmd)
	}
	outs := make([]*strings.Builder, len(cmds))
	for i, cmd := range cmds {
		outs[i] = &strings.Builder{}
		cmd.Stdout = outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil || !strings.Contains(outs[i].String(), "DONE") {
			t.Fatalf("runner %d: %v: %s", i, err, outs[i])
		}
	}
	count := map[string]int{}
	for i := range cmds {
		b, err := os.ReadFile(filepath.Join(work, fmt.Sprintf("log%d", i)))
		if err != nil {
			continue // this runner delivered nothing
		}
		per := 0
		for _, l := range strings.Fields(string(b)) {
			if l == "DUP" {
				t.Errorf("two processes delivered the same item at once")
				continue
			}
			count[l]++
			per++
		}
		t.Logf("runner %d delivered %d items", i, per)
	}
	if len(count) != n {
		t.Errorf("%d distinct items delivered, want %d", len(count), n)
	}
	for id, c := range count {
		if !want[id] || c != 1 {
			t.Errorf("item %s delivered %d times (known: %v)", id, c, want[id])
		}
	}
	if items, _ := q.List(); len(items) != 0 {
		t.Errorf("%d items left", len(items))
	}
}

// helperRunKill runs the queue, logging each item as the server would
// take it (before reporting the result); at the OUTBOX_KILLAT-th item it
// says so and stalls, as a runner killed between the server's 250 and the
// removal of the file.
func helperRunKill() {
	q, err := Open(os.Getenv("OUTBOX_DIR"), Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	q.lim.noRelist = os.Getenv("OUTBOX_NORELIST") != ""
	fmt.Sscan(os.Getenv("OUTBOX_MAXHELD"), &q.lim.maxHeld)
	fmt.Sscan(os.Getenv("OUTBOX_CHUNK"), &q.lim.scanChunk)
	var killAt int
	fmt.Sscan(os.Getenv("OUTBOX_KILLAT"), &killAt)
	log, err := os.OpenFile(os.Getenv("OUTBOX_LOG"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	var mu sync.Mutex
	n := 0
	deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			mu.Lock()
			n++
			k := n
			fmt.Fprintf(log, "%s\n", it.ID)
			mu.Unlock()
			if k == killAt {
				fmt.Println("STAGE accepted")
				select {}
			}
			report(it, Result{Outcome: Delivered})
		}
		return nil
	}
	q.Run(context.Background(), RunConfig{Deliver: deliver, Parallel: 2, BatchSize: 4, MinBatch: 2})
	fmt.Println("STAGE accepted") // fewer items than killAt
	select {}
}

// TestKillDuringRun kills (SIGKILL) a queue runner after a server has
// accepted an item and before its file is removed, at several points of
// the run and in every way the scan takes items: a later run delivers
// every item the dead one had not finished (the one in flight again, as
// at-least-once allows), none is lost or left behind, and no lock of the
// dead process stays.
func TestKillDuringRun(t *testing.T) {
	modes := []struct{ name, noRelist, maxHeld, chunk string }{
		{"relisted", "", "", ""}, {"per item", "1", "", ""}, {"batch locks", "", "-1", ""}, {"limit 3", "", "3", ""},
		{"chunks of 4", "", "", "4"},
	}
	for _, m := range modes {
		for _, killAt := range []int{1, 5, 13} {
			t.Run(fmt.Sprintf("%s/kill at %d", m.name, killAt), func(t *testing.T) {
				dir, work := testdir.New(t), testdir.New(t)
				q, err := Open(dir, Options{Logf: func(string, ...any) {}})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]bool{}
				for i := range 16 {
					s := testSettings
					s.Host = fmt.Sprintf("mx%d.example", i%2)
					want[enqueue(t, q, s, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i))] = true
				}
				logPath := filepath.Join(work, "log")
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "OUTBOX_HELPER=runkill", "OUTBOX_DIR="+dir, "OUTBOX_LOG="+logPath,
					"OUTBOX_KILLAT="+fmt.Sprint(killAt), "OUTBOX_NORELIST="+m.noRelist, "OUTBOX_MAXHELD="+m.maxHeld, "OUTBOX_CHUNK="+m.chunk)
				cmd.Stderr = os.Stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				line, _ := bufio.NewReader(out).ReadString('\n')
				cmd.Process.Kill()
				cmd.Wait()
				if line != "STAGE accepted\n" {
					t.Fatalf("helper said %q", line)
				}
				b, _ := os.ReadFile(logPath)
				first := strings.Fields(string(b))
				if len(first) < killAt {
					t.Fatalf("the dead runner logged %d items, want at least %d", len(first), killAt)
				}
				again := map[string]int{}
				st, err := q.Run(context.Background(), RunConfig{Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
					for _, it := range batch {
						again[it.ID]++
						report(it, Result{Outcome: Delivered})
					}
					return nil
				}})
				if err != nil || st.Busy != 0 || st.Corrupt != 0 {
					t.Fatalf("Run after the kill = %+v, %v", st, err)
				}
				seen := map[string]bool{}
				for _, id := range first {
					seen[id] = true
				}
				for id := range want {
					if !seen[id] && again[id] == 0 {
						t.Errorf("item %s was lost", id)
					}
					if again[id] > 1 {
						t.Errorf("item %s delivered %d times by one run", id, again[id])
					}
				}
				if again[first[killAt-1]] == 0 {
					t.Errorf("the item in flight at the kill (%s) was not delivered again", first[killAt-1])
				}
				for _, sub := range []string{"msg", "corrupt", "failed"} {
					if left, _ := os.ReadDir(q.sub(sub)); len(left) != 0 {
						t.Errorf("%s/ still holds %d files", sub, len(left))
					}
				}
			})
		}
	}
}

// helperReadOnly runs the queue at OUTBOX_DIR once, with a deliverer that
// prints DELIVERED and the ID of each item it is given, then prints the
// run's error (or OK).
func helperReadOnly() {
	q, err := Open(os.Getenv("OUTBOX_DIR"), Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	_, err = q.Run(context.Background(), RunConfig{Force: true,
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
			for _, it := range batch {
				fmt.Println("DELIVERED", it.ID)
				report(it, Result{Outcome: Delivered})
			}
			return nil
		}})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	fmt.Println("OK")
}
