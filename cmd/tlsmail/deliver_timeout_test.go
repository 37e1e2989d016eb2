package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// silentAfterData is a raw-socket SMTP server (no TLS, no PIPELINING) that
// takes each message's data and then never answers the end of it, as a
// server that hangs while it stores the message.
type silentAfterData struct {
	ln         net.Listener
	noGreeting bool // silent from the start: no 220
	conns      atomic.Int64
	dataEnds   atomic.Int64
	done       chan struct{}
	wg         sync.WaitGroup
}

func startSilentAfterData(t *testing.T, noGreeting bool) *silentAfterData {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentAfterData{ln: ln, done: make(chan struct{}), noGreeting: noGreeting}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *silentAfterData) serve(c net.Conn) {
	br := bufio.NewReader(c)
	reply := func(l string) { c.Write([]byte(l + "\r\n")) }
	if s.noGreeting {
		<-s.done
		return
	}
	reply("220 silent.example ESMTP")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-silent.example")
			reply("250 8BITMIME")
		case cmd == "DATA":
			reply("354 go on")
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.dataEnds.Add(1)
			<-s.done // silent: no reply, until the test ends
			return
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

// A server that goes silent after the end of DATA: the first message
// waits out its timeout, and the server's other messages are deferred at
// once, in the same run, rather than each waiting out a timeout of its own
// on a new connection (20 items took 20 timeouts before).
func TestQueueFlushSilentServerDefersTheRest(t *testing.T) {
	t.Parallel()
	srv := startSilentAfterData(t, false)
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	// The step timeout must end the silence after DATA and let every step
	// before it through: 300 ms was short enough for a stall of this
	// (the server's) process to time out the greeting instead, and all 20
	// items then failed there, none "timed out earlier in this run".
	s := submit.Account{Host: host, Port: n, Mode: smtp.None, Timeout: 2 * time.Second}
	const items = 20
	for i := range items {
		if _, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
			strings.NewReader("Subject: "+strconv.Itoa(i)+"\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	r := proc{args: []string{"queue", "flush", "--json", "--queue-dir", dir}}.run(t)
	var out struct {
		Stats   outbox.Stats
		Results []submit.Report
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if r.code != exitTempFail || out.Stats.Deferred != items || len(out.Results) != items {
		t.Fatalf("want all %d deferred (exit 75): %s", items, r)
	}
	if c, d := srv.conns.Load(), srv.dataEnds.Load(); c != 1 || d != 1 {
		t.Errorf("%d connections and %d messages waited on, want 1 and 1: the server's other items must not be tried again in this run", c, d)
	}
	notTried := 0
	for _, res := range out.Results {
		if strings.Contains(res.Error, "timed out earlier in this run") {
			notTried++
		}
	}
	if notTried != items-1 {
		t.Errorf("%d items say why they were not tried, want %d: %s", notTried, items-1, r.stdout)
	}
}

// A server that accepts connections and never greets: the first batch
// waits out its timeout, and the server's other batch in the run (items
// with other settings, so another connection) is deferred without a
// connection of its own.
func TestQueueRunSilentGreetingDefersOtherBatches(t *testing.T) {
	t.Parallel()
	srv := startSilentAfterData(t, true)
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	for _, domain := range []string{"one.example", "two.example"} {
		s := submit.Account{Host: host, Port: n, Mode: smtp.None, Timeout: 300 * time.Millisecond, LocalName: domain}
		if _, err := submit.Enqueue(context.Background(), q, &s, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
			strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	r := proc{args: []string{"queue", "run", "--parallel", "1", "--queue-dir", dir}}.run(t)
	if r.code != exitTempFail || !strings.Contains(r.stdout, "0 delivered, 2 deferred") || !strings.Contains(r.stdout, "timed out earlier in this run") {
		t.Errorf("want both deferred, the second without a try: %s", r)
	}
	if c := srv.conns.Load(); c != 1 {
		t.Errorf("%d connections, want 1", c)
	}
}
