package pgqueue_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// freezeProxy is a loopback TCP proxy to a server whose connections can
// be made half-open: after freeze, the connections open at that moment
// stay open on both sides but carry nothing either way (what arrives is
// read and dropped, as a peer that vanished without a FIN or RST looks to
// the other side: writes succeed, nothing comes back); connections made
// after are forwarded.
type freezeProxy struct {
	addr  string
	mu    sync.Mutex
	open  []*proxied
	conns []net.Conn // both ends of every proxied connection
	// refusing: a new connection is closed at once (a server that is
	// restarting).
	refusing bool
	// swallowing: a new connection is accepted and frozen (a host that
	// vanished behind a NAT: the connect never completes).
	swallowing bool
}

type proxied struct {
	mu     sync.Mutex
	frozen bool
	muted  bool // the server's replies are dropped, the client's bytes still go
	// last holds the last bytes the client sent (forwarded or not), and
	// clientGone is closed when the client's side of the connection
	// ends (a FIN or RST from the client).
	last       []byte
	clientGone chan struct{}
}

// terminated reports whether the client's last message was Terminate
// ('X', length 4: the protocol's polite goodbye, PostgreSQL's
// documentation section 53.2.10), whether or not it was forwarded.
func (p *proxied) terminated() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.last) == "X\x00\x00\x00\x04"
}

func (p *proxied) fromClient(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = append(p.last, b...)
	p.last = p.last[max(0, len(p.last)-5):]
}

func (p *proxied) isFrozen() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.frozen }
func (p *proxied) isMuted() bool  { p.mu.Lock(); defer p.mu.Unlock(); return p.frozen || p.muted }

// behindProxy starts a freezeProxy to the database of url and opens a
// Queue (with opts) that reaches the database through it: the URL's
// host:port replaced by the proxy's address.
func behindProxy(t *testing.T, url string, opts pgqueue.Options) (*freezeProxy, *pgqueue.Queue) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	if !strings.Contains(url, "@"+target+"/") {
		t.Fatalf("test URL %s does not name the database's address as @%s/", url, target)
	}
	proxy := startFreezeProxy(t, target)
	return proxy, openPG(t, strings.Replace(url, "@"+target+"/", "@"+proxy.addr+"/", 1), opts)
}

func startFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fp := &freezeProxy{addr: l.Addr().String()}
	t.Cleanup(func() {
		l.Close()
		fp.cut()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fp.mu.Lock()
			refusing, swallowing := fp.refusing, fp.swallowing
			fp.mu.Unlock()
			if refusing {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pc := &proxied{frozen: swallowing, clientGone: make(chan struct{})}
			fp.mu.Lock()
			fp.open = append(fp.open, pc)
			fp.conns = append(fp.conns, c, s)
			fp.mu.Unlock()
			// seen, when set, is given every read of src; ended is
			// called when src ends.
			pipe := func(dst, src net.Conn, drop func() bool, seen func([]byte), ended func()) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 && seen != nil {
						seen(buf[:n])
					}
					if n > 0 && !drop() {
						if _, err := dst.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						if ended != nil {
							ended()
						}
						if err == io.EOF && !pc.isFrozen() {
							if tc, ok := dst.(*net.TCPConn); ok {
								tc.CloseWrite()
							}
						}
						return
					}
				}
			}
			go pipe(s, c, pc.isFrozen, pc.fromClient, func() { close(pc.clientGone) })
			go pipe(c, s, pc.isMuted, nil, nil)
		}
	}()
	return fp
}

// opened is every connection proxied so far, oldest first.
func (fp *freezeProxy) opened() []*proxied {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return append([]*proxied(nil), fp.open...)
}

// freeze makes every connection open now half-open.
func (fp *freezeProxy) freeze() { fp.setOpen(func(pc *proxied) { pc.frozen = true }) }

// setOpen calls set, under the connection's lock, on every connection
// open now.
func (fp *freezeProxy) setOpen(set func(*proxied)) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, pc := range fp.open {
		pc.mu.Lock()
		set(pc)
		pc.mu.Unlock()
	}
}

// cut closes every connection open now, both ends: the client and the
// server see the connection end at once.
func (fp *freezeProxy) cut() {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, c := range fp.conns {
		c.Close()
	}
}

// refuse has new connections closed at once (on), or forwarded (off).
func (fp *freezeProxy) refuse(on bool) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.refusing = on
}

// swallow has new connections frozen from the start.
func (fp *freezeProxy) swallow() {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.swallowing = true
}

// mute drops the server's replies on every connection open now (the
// client's requests still reach the server): a request is carried out
// and its answer lost, as when the network fails right after it.
func (fp *freezeProxy) mute() { fp.setOpen(func(pc *proxied) { pc.muted = true }) }

// listenVia is a Queue whose notifications come through another Queue
// (the one behind the proxy), so that the Worker's passes do not use the
// connections the test makes half-open.
type listenVia struct {
	*pgqueue.Queue
	l *pgqueue.Queue
}

func (v listenVia) Listen(ctx context.Context, wake func()) error { return v.l.Listen(ctx, wake) }

// TestPostgresListenHalfOpen: a Worker (interval an hour) whose LISTEN
// connection goes half-open (the proxy between it and PostgreSQL stops
// forwarding without closing anything, as a vanished host or a NAT that
// dropped the flow) finds out by the ping of an idle connection
// (Options.ListenCheck, 1 s here, 30 s by default), connects again, and
// is woken by an enqueue made after: the message is delivered. Before,
// the connection waited for a notification for ever (TCP keepalive does
// not end a connection whose peer's kernel still answers, and takes hours
// where it does) and the Worker heard no enqueue.
func TestPostgresListenHalfOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	srv, a := startServer(t)
	var logMu sync.Mutex
	var logs []string
	snapshot := func() []string {
		logMu.Lock()
		defer logMu.Unlock()
		return append([]string(nil), logs...)
	}
	logged := func(s string) bool {
		logMu.Lock()
		defer logMu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}
	// Passes started and ended, and the passes started when the
	// channel was back (the Worker runs one pass at a time).
	var started, ended, mark atomic.Int64
	mark.Store(-1)
	direct := openPG(t, url, pgqueue.Options{})
	proxy, behind := behindProxy(t, url, pgqueue.Options{ListenCheck: time.Second, Logf: func(format string, args ...any) {
		logMu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		logMu.Unlock()
		if strings.Contains(format, "listening for new messages again") {
			mark.Store(started.Load()) // Listen wakes the Worker after this line
		}
		t.Logf(format, args...)
	}})
	results := make(chan outbox.Outcome, 64)
	w := &submit.Worker{Queue: listenVia{direct, behind}, Interval: time.Hour,
		Pass: func(ctx context.Context) (outbox.Stats, error) {
			started.Add(1)
			defer ended.Add(1)
			return submit.RunPass(ctx, direct, submit.PassConfig{OnResult: func(_ *outbox.Item, r outbox.Result, _ *submit.Sent) { results <- r.Outcome }})
		}}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()

	delivered := func(what string, enqueueEvery time.Duration) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for i := 0; ; i++ {
			if _, err := submit.Enqueue(ctx, direct, a, env, strings.NewReader(msg(i))); err != nil {
				t.Fatal(err)
			}
			select {
			case o := <-results:
				if o != outbox.Delivered {
					t.Fatalf("%s: outcome %v", what, o)
				}
				return
			case <-time.After(enqueueEvery):
			case <-deadline:
				t.Fatalf("%s: no enqueue woke the Worker within 30 s", what)
			}
		}
	}
	// Through the proxy while it forwards (enqueued again until the
	// LISTEN is in place).
	delivered("before the freeze", 500*time.Millisecond)
	// Idle checks of a healthy connection keep it.
	time.Sleep(3 * time.Second)
	if logged("lost the notification channel") {
		t.Fatalf("a healthy idle LISTEN connection was dropped: %q", snapshot())
	}
	proxy.freeze()
	deadline := time.Now().Add(30 * time.Second)
	for !logged("listening for new messages again") {
		if time.Now().After(deadline) {
			t.Fatal("the half-open LISTEN connection was not replaced within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !logged("did not answer a check") {
		t.Errorf("the channel was lost for another reason than the check: %q", snapshot())
	}
	// Items queued while nobody listened are delivered by the pass that
	// follows the reconnection; once it is over, the next message is
	// delivered only if its NOTIFY on the new connection wakes the Worker
	// (the next pass is an hour away).
	for m := mark.Load(); ended.Load() <= m; {
		if time.Now().After(deadline) {
			t.Fatal("no pass after the reconnection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for len(results) > 0 {
		<-results
	}
	delivered("after the reconnection", time.Hour)
	if n, err := srv.Messages(); err != nil || len(n) < 2 {
		t.Fatalf("the server has %d messages (%v), want at least 2", len(n), err)
	}
}
