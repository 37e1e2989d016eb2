package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newQueue(t testing.TB) (*Queue, *clock, *logSink) {
	t.Helper()
	c := &clock{t: t0}
	logs := &logSink{}
	q, err := Open(testdir.New(t), Options{Now: c.Now, Logf: logs.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return q, c, logs
}

var testSettings = testAcct{
	ConfigFile: "/home/joe/.msmtprc", Account: "work",
	Host: "smtp.example.org", Port: 587, TLS: "starttls", TrustFile: "system",
	Auth: "on", User: "joe", Secret: testSecret{Source: "config", Ref: "work"},
	Domain: "client.example", Timeout: 30 * time.Second,
}

func enqueue(t testing.TB, q *Queue, s testAcct, body string) string {
	t.Helper()
	id, err := q.EnqueueData(context.Background(), Envelope{From: "joe@example.org", To: []string{"ann@example.net"}}, s.data(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func readAll(t testing.TB, it *Item) string {
	t.Helper()
	rc, err := it.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnqueueAndList(t *testing.T) {
	q, _, _ := newQueue(t)
	body := "Subject: hi\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n"
	id := enqueue(t, q, testSettings, body)
	id2 := enqueue(t, q, testSettings, "")
	items, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].ID != id || items[1].ID != id2 {
		t.Fatalf("List = %v, want [%s %s] in order", items, id, id2)
	}
	it := items[0]
	if it.Size != int64(len(body)) || it.Attempts != 0 || !it.Created.Equal(t0) ||
		it.Envelope.From != "joe@example.org" || it.Envelope.To[0] != "ann@example.net" {
		t.Errorf("item %+v", it)
	}
	if string(it.Data()) != string(testSettings.json()) {
		t.Errorf("settings %s, want %s", it.Data(), testSettings.json())
	}
	if got := readAll(t, it); got != body {
		t.Errorf("content %q", got)
	}
	if got := readAll(t, items[1]); got != "" {
		t.Errorf("empty content %q", got)
	}
	got, err := q.Get(id)
	if err != nil || got.ID != id {
		t.Errorf("Get = %v, %v", got, err)
	}
	// Nothing is left in tmp/.
	if left, _ := os.ReadDir(q.sub("tmp")); len(left) != 0 {
		t.Errorf("tmp/ holds %d files", len(left))
	}
}

func TestEnqueueRefusesNoRecipients(t *testing.T) {
	q, _, _ := newQueue(t)
	if _, err := q.EnqueueData(context.Background(), Envelope{}, testSettings.data(), strings.NewReader("x")); err == nil {
		t.Error("no recipients: want an error")
	}
}

// deliverAll reports every item with the result res returns.
func deliverWith(res func(it *Item) Result) Deliverer {
	return func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			report(it, res(it))
		}
		return nil
	}
}

type tempErr struct{ msg string }

func (e tempErr) Error() string   { return e.msg }
func (e tempErr) Temporary() bool { return true }

type permErr struct{ msg string }

func (e permErr) Error() string   { return e.msg }
func (e permErr) Temporary() bool { return false }

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		age       time.Duration // how long the item waited before the run
		err       error
		stats     Stats
		queued    int
		failed    int
		reason    string
		permanent bool
	}{
		{"delivered", 0, nil, Stats{Delivered: 1}, 0, 0, "", false},
		{"temporary", 0, tempErr{"451 4.3.0 try later"}, Stats{Deferred: 1, Next: t0.Add(time.Minute)}, 1, 0, "", false},
		{"unknown error is temporary", 0, errors.New("connection reset"), Stats{Deferred: 1, Next: t0.Add(time.Minute)}, 1, 0, "", false},
		{"permanent", 0, permErr{"550 5.1.1 no such user"}, Stats{Failed: 1}, 0, 1, "550 5.1.1 no such user", true},
		{"expired", DefaultMaxAge, tempErr{"421 busy"}, Stats{Failed: 1, Expired: 1}, 0, 1, "expired after 5.0 days in the queue (1 attempts); last error: 421 busy", false},
		{"not yet expired", DefaultMaxAge - time.Second, tempErr{"421 busy"}, Stats{Deferred: 1, Next: t0.Add(DefaultMaxAge - time.Second + time.Minute)}, 1, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, c, _ := newQueue(t)
			id := enqueue(t, q, testSettings, "body")
			c.Add(tt.age)
			var seen []Result
			st, err := q.Run(context.Background(), RunConfig{
				Deliver:  deliverWith(func(*Item) Result { return Classify(tt.err) }),
				Rand:     func() float64 { return 0 },
				OnResult: func(it *Item, r Result) { seen = append(seen, r) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
			if len(seen) != 1 {
				t.Errorf("OnResult called %d times", len(seen))
			}
			queued, _ := q.List()
			failed, _ := q.ListFailed()
			if len(queued) != tt.queued || len(failed) != tt.failed {
				t.Fatalf("queued %d failed %d, want %d %d", len(queued), len(failed), tt.queued, tt.failed)
			}
			if tt.queued == 1 {
				it := queued[0]
				if it.Attempts != 1 || it.LastError != tt.err.Error() || !it.NextAttempt.Equal(tt.stats.Next) {
					t.Errorf("state %+v", it)
				}
			}
			if tt.failed == 1 {
				it := failed[0]
				if it.ID != id || it.Reason != tt.reason || it.Permanent != tt.permanent || !it.FailedAt.Equal(c.Now()) {
					t.Errorf("failed item %+v", it)
				}
				if readAll(t, it) != "body" {
					t.Error("failed item lost its content")
				}
			}
		})
	}
}

func TestRetryThenDeliver(t *testing.T) {
	q, c, _ := newQueue(t)
	id := enqueue(t, q, testSettings, "body")
	replies := []error{tempErr{"451 4.7.0 greylisted"}, nil}
	var attempts int
	rc := RunConfig{
		Rand: func() float64 { return 0 },
		Deliver: deliverWith(func(it *Item) Result {
			if it.ID != id {
				t.Errorf("unexpected item %s", it.ID)
			}
			r := Classify(replies[attempts])
			attempts++
			return r
		}),
	}
	if st, _ := q.Run(context.Background(), rc); st.Deferred != 1 {
		t.Fatalf("first run %+v", st)
	}
	// Not due yet: nothing is attempted.
	if st, _ := q.Run(context.Background(), rc); st.NotDue != 1 || attempts != 1 || !st.Next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second run %+v after %d attempts", st, attempts)
	}
	c.Add(time.Minute)
	if st, _ := q.Run(context.Background(), rc); st.Delivered != 1 || attempts != 2 {
		t.Fatalf("third run %+v", st)
	}
	if items, _ := q.List(); len(items) != 0 {
		t.Errorf("%d items left", len(items))
	}
	if left, _ := os.ReadDir(q.sub("msg")); len(left) != 0 {
		t.Errorf("msg/ holds %d files (state not removed?)", len(left))
	}
}

func TestForce(t *testing.T) {
	q, _, _ := newQueue(t)
	enqueue(t, q, testSettings, "body")
	fail := RunConfig{Deliver: deliverWith(func(*Item) Result { return Classify(tempErr{"421"}) })}
	q.Run(context.Background(), fail)
	ok := RunConfig{Deliver: deliverWith(func(*Item) Result { return Result{Outcome: Delivered} })}
	if st, _ := q.Run(context.Background(), ok); st.NotDue != 1 {
		t.Fatalf("without Force: %+v", st)
	}
	ok.Force = true
	if st, _ := q.Run(context.Background(), ok); st.Delivered != 1 {
		t.Fatalf("with Force: %+v", st)
	}
}

func TestBackoffSchedule(t *testing.T) {
	b := Backoff{Initial: time.Minute, Max: time.Hour, Jitter: 0.5}
	tests := []struct {
		attempts int
		u        float64
		want     time.Duration
	}{
		{1, 0, time.Minute},
		{2, 0, 2 * time.Minute},
		{3, 0, 4 * time.Minute},
		{6, 0, 32 * time.Minute},
		{7, 0, time.Hour}, // 64 minutes, capped
		{1000, 0, time.Hour},
		{1, 0.5, 45 * time.Second},
		{7, 0.999, time.Hour - time.Duration(float64(time.Hour)*0.5*0.999)},
		{0, 0, time.Minute},
		{3, -1, 4 * time.Minute}, // out-of-range draws are clamped
	}
	for _, tt := range tests {
		if got := b.Delay(tt.attempts, tt.u); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempts, tt.u, got, tt.want)
		}
	}
	// Defaults, and jitter never exceeds the cap.
	var zero Backoff
	if got := zero.Delay(1, 0); got != time.Minute {
		t.Errorf("default first delay %v", got)
	}
	if got := zero.Delay(100, 0); got != time.Hour {
		t.Errorf("default cap %v", got)
	}
	for u := 0.0; u < 1; u += 0.1 {
		if d := zero.Delay(100, u); d > time.Hour || d < 48*time.Minute {
			t.Errorf("Delay(100, %v) = %v outside [48m, 1h]", u, d)
		}
	}
}

func TestGroupingAndBatches(t *testing.T) {
	q, _, _ := newQueue(t)
	other := testSettings
	other.Host = "mail.example.net"
	want := map[string]string{}
	for i := range 7 {
		s := testSettings
		if i%2 == 1 {
			s = other
		}
		want[enqueue(t, q, s, fmt.Sprint("msg ", i))] = s.Host
	}
	var mu sync.Mutex
	var sizes []int
	st, err := q.Run(context.Background(), RunConfig{
		BatchSize: 3,
		Parallel:  2,
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
			mu.Lock()
			sizes = append(sizes, len(batch))
			mu.Unlock()
			for _, it := range batch {
				if acctOf(t, it).Host != acctOf(t, batch[0]).Host {
					t.Errorf("batch mixes %s and %s", acctOf(t, it).Host, acctOf(t, batch[0]).Host)
				}
				if want[it.ID] != acctOf(t, it).Host {
					t.Errorf("item %s has host %s", it.ID, acctOf(t, it).Host)
				}
				report(it, Result{Outcome: Delivered})
			}
			return nil
		},
	})
	if err != nil || st.Delivered != 7 {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	total := 0
	for _, n := range sizes {
		if n > 3 {
			t.Errorf("batch of %d > BatchSize", n)
		}
		total += n
	}
	if total != 7 || len(sizes) != 3 { // 4 items -> 3+1, 3 items -> 3
		t.Errorf("batch sizes %v", sizes)
	}
}

func TestDeliverErrorAndUnreported(t *testing.T) {
	q, _, _ := newQueue(t)
	a := enqueue(t, q, testSettings, "a")
	b := enqueue(t, q, testSettings, "b")
	// The deliverer reports a, then the connection breaks: b is deferred
	// with the connection error.
	st, _ := q.Run(context.Background(), RunConfig{
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
			report(batch[0], Result{Outcome: Delivered})
			report(batch[0], Result{Outcome: Permanent}) // twice: ignored
			return errors.New("dial tcp: connection refused")
		},
	})
	if st.Delivered != 1 || st.Deferred != 1 {
		t.Fatalf("stats %+v", st)
	}
	items, _ := q.List()
	if len(items) != 1 || items[0].ID != b || items[0].LastError != "dial tcp: connection refused" {
		t.Fatalf("items %+v (a=%s)", items, a)
	}
	// A deliverer that returns nil without reporting leaves items as they were.
	st, _ = q.Run(context.Background(), RunConfig{Force: true,
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error { return nil }})
	items, _ = q.List()
	if st.Deferred != 0 || len(items) != 1 || items[0].Attempts != 1 {
		t.Fatalf("stats %+v items %+v", st, items)
	}
}

func TestRemove(t *testing.T) {
	q, _, _ := newQueue(t)
	id := enqueue(t, q, testSettings, "x")
	// A runner holding the item makes Remove fail with ErrBusy.
	lf, err := openLocked(q.sub("msg", id+msgSuffix), os.O_RDONLY)
	if err != nil || lf == nil {
		t.Fatal("cannot lock", err)
	}
	if err := q.Remove(id); !errors.Is(err, ErrBusy) {
		t.Errorf("Remove while held = %v, want ErrBusy", err)
	}
	lf.unlock()
	if err := q.Remove(id); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{id, "../../etc/passwd", ""} {
		if err := q.Remove(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Remove(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	// Failed items can be removed too.
	id = enqueue(t, q, testSettings, "y")
	q.Run(context.Background(), RunConfig{Deliver: deliverWith(func(*Item) Result { return Result{Outcome: Permanent} })})
	if err := q.Remove(id); err != nil {
		t.Errorf("Remove failed item: %v", err)
	}
	if f, _ := q.ListFailed(); len(f) != 0 {
		t.Errorf("failed/ still has %d items", len(f))
	}
}

func TestCorruptFiles(t *testing.T) {
	q, _, logs := newQueue(t)
	good := enqueue(t, q, testSettings, "good body")
	trunc := enqueue(t, q, testSettings, "this one gets truncated")
	flipped := enqueue(t, q, testSettings, "this one gets a flipped bit")
	badState := enqueue(t, q, testSettings, "state is garbage")
	garbage := newID(t0.Add(time.Second))
	mustWrite := func(p string, b []byte) {
		t.Helper()
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := q.sub("msg", trunc+msgSuffix)
	b, _ := os.ReadFile(p)
	mustWrite(p, b[:len(b)-10])
	p = q.sub("msg", flipped+msgSuffix)
	b, _ = os.ReadFile(p)
	b[len(b)-trailerLen-3] ^= 0x20
	mustWrite(p, b)
	mustWrite(q.sub("msg", badState+stateSuffix), []byte("{not json"))
	mustWrite(q.sub("msg", garbage+msgSuffix), []byte("\x00\x01 random bytes"))
	mustWrite(q.sub("msg", "README"), []byte("not an item"))

	// List skips what it cannot read, with warnings, and changes nothing.
	items, err := q.List()
	if err != nil || len(items) != 3 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}

	delivered := map[string]bool{}
	st, err := q.Run(context.Background(), RunConfig{
		Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
			for _, it := range batch {
				rc, err := it.Open()
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				if err == nil {
					delivered[it.ID] = true
				}
				report(it, Classify(err))
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !delivered[good] || !delivered[badState] || len(delivered) != 2 {
		t.Errorf("delivered %v, want %s and %s", delivered, good, badState)
	}
	if st.Corrupt != 3 || st.Delivered != 2 {
		t.Errorf("stats %+v", st)
	}
	aside, _ := os.ReadDir(q.sub("corrupt"))
	names := map[string]bool{}
	for _, e := range aside {
		names[e.Name()] = true
	}
	for _, n := range []string{trunc + msgSuffix, flipped + msgSuffix, garbage + msgSuffix, badState + stateSuffix} {
		if !names[n] {
			t.Errorf("corrupt/ lacks %s (has %v)", n, names)
		}
	}
	if !strings.Contains(logs.String(), "truncated") || !strings.Contains(logs.String(), "checksum") {
		t.Errorf("warnings:\n%s", logs)
	}
	if _, err := os.Stat(q.sub("msg", "README")); err != nil {
		t.Error("a foreign file was touched")
	}
}

func TestLargeMessageIsStreamed(t *testing.T) {
	q, _, _ := newQueue(t)
	const size = 32 << 20
	src := io.LimitReader(repeatReader('x'), size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	id, err := q.EnqueueData(context.Background(), Envelope{To: []string{"a@b"}}, testSettings.data(), src)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("Enqueue of %d bytes allocated %d bytes: the message is held in memory", size, alloc)
	}
	it, err := q.Get(id)
	if err != nil || it.Size != size {
		t.Fatalf("Get = %+v, %v", it, err)
	}
	rc, _ := it.Open()
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if n != size || err != nil {
		t.Errorf("read back %d bytes, %v", n, err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestEnqueueCancelled(t *testing.T) {
	q, _, _ := newQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("partial"))
		cancel()
		pw.Write([]byte("more")) // unblocks the copy after cancel
		pw.Close()
	}()
	if _, err := q.EnqueueData(ctx, Envelope{To: []string{"a@b"}}, testSettings.data(), pr); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enqueue = %v, want context.Canceled", err)
	}
	if items, _ := q.List(); len(items) != 0 {
		t.Error("a cancelled enqueue left an item")
	}
	if left, _ := os.ReadDir(q.sub("tmp")); len(left) != 0 {
		t.Error("a cancelled enqueue left a temporary file")
	}
}

func TestConcurrentEnqueue(t *testing.T) {
	q, _, _ := newQueue(t)
	var wg sync.WaitGroup
	ids := make([]string, 64)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := q.EnqueueData(context.Background(), Envelope{To: []string{"a@b"}}, testSettings.data(), strings.NewReader(fmt.Sprint("body ", i)))
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	items, _ := q.List()
	if len(items) != len(ids) {
		t.Fatalf("%d items, want %d", len(items), len(ids))
	}
	byID := map[string]*Item{}
	for _, it := range items {
		byID[it.ID] = it
	}
	for i, id := range ids {
		if it := byID[id]; it == nil || readAll(t, it) != fmt.Sprint("body ", i) {
			t.Errorf("item %d (%s) missing or wrong", i, id)
		}
	}
}

// TestConcurrentRunnersGoroutines runs two Run loops at once over the same
// spool and checks that every item is delivered exactly once and never by
// two deliverers at the same moment.
func TestConcurrentRunnersGoroutines(t *testing.T) {
	dir := testdir.New(t)
	q1, _ := Open(dir, Options{})
	q2, _ := Open(dir, Options{})
	const n = 200
	for i := range n {
		s := testSettings
		s.Host = fmt.Sprintf("mx%d.example", i%5)
		enqueue(t, q1, s, fmt.Sprint("body ", i))
	}
	var mu sync.Mutex
	inFlight := map[string]bool{}
	count := map[string]int{}
	deliver := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			mu.Lock()
			if inFlight[it.ID] {
				t.Errorf("item %s delivered by two runners at once", it.ID)
			}
			inFlight[it.ID] = true
			count[it.ID]++
			mu.Unlock()
			runtime.Gosched()
			mu.Lock()
			delete(inFlight, it.ID)
			mu.Unlock()
			report(it, Result{Outcome: Delivered})
		}
		return nil
	}
	var wg sync.WaitGroup
	for _, q := range []*Queue{q1, q2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := q.Run(context.Background(), RunConfig{Deliver: deliver, Parallel: 3, BatchSize: 4}); err != nil {
					t.Error(err)
					return
				}
				if items, _ := q.List(); len(items) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(count) != n {
		t.Errorf("%d distinct items delivered, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("item %s delivered %d times", id, c)
		}
	}
}

// RunConfig.IDs limits a run to the named items; the others are not even
// offered to the deliverer, and their state is untouched.
func TestRunOnlyIDs(t *testing.T) {
	q, _, _ := newQueue(t)
	ids := []string{enqueue(t, q, testSettings, "one"), enqueue(t, q, testSettings, "two"), enqueue(t, q, testSettings, "three")}
	var offered []string
	st, err := q.Run(context.Background(), RunConfig{
		IDs: []string{ids[1]},
		Deliver: deliverWith(func(it *Item) Result {
			offered = append(offered, it.ID)
			return Result{Outcome: Delivered}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != 1 || len(offered) != 1 || offered[0] != ids[1] {
		t.Fatalf("stats %+v, offered %v, want only %s", st, offered, ids[1])
	}
	left, _ := q.List()
	if len(left) != 2 || left[0].ID != ids[0] || left[1].ID != ids[2] || left[0].Attempts != 0 || left[1].Attempts != 0 {
		t.Errorf("left %+v", left)
	}
}
