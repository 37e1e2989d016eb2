package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter records each Write it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func (w *countingWriter) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// lineBuffer gathers queue run's lines into few writes, keeps their order,
// writes at once past flushSize, and Flush writes the rest.
func TestLineBuffer(t *testing.T) {
	tests := []struct {
		name      string
		lines     int
		lineLen   int
		minWrites int // writes before Flush (past flushSize)
	}{
		{"few lines wait for Flush", 10, 80, 0},
		{"a full buffer is written at once", 2 * flushSize / 100, 100, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &countingWriter{}
			b := &lineBuffer{w: w}
			var want bytes.Buffer
			for i := range tt.lines {
				line := strings.Repeat(string(rune('a'+i%26)), tt.lineLen-1) + "\n"
				want.WriteString(line)
				if n, err := b.Write([]byte(line)); n != len(line) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			// The flush timer may fire at any moment: only a lower bound
			// on the writes so far is certain.
			if got := len(w.snapshot()); got < tt.minWrites {
				t.Errorf("%d writes before Flush, want at least %d", got, tt.minWrites)
			}
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
			writes := w.snapshot()
			if got := strings.Join(writes, ""); got != want.String() {
				t.Errorf("written %d bytes, want %d in order", len(got), want.Len())
			}
			if max := tt.lines*tt.lineLen/flushSize + 2; len(writes) > max {
				t.Errorf("%d writes for %d lines, want at most %d", len(writes), tt.lines, max)
			}
			if err := b.Flush(); err != nil || len(w.snapshot()) != len(writes) {
				t.Errorf("a second Flush wrote again (%v)", err)
			}
		})
	}
}

// A line is written by the timer even if nobody calls Flush (a person
// watching a slow run sees it).
func TestLineBufferTimer(t *testing.T) {
	w := &countingWriter{}
	b := &lineBuffer{w: w}
	b.Write([]byte("delivered x\n"))
	b.mu.Lock()
	timer := b.timer
	b.mu.Unlock()
	if timer == nil {
		t.Fatal("no flush timer after a write")
	}
	done := make(chan struct{})
	go func() {
		for len(w.snapshot()) == 0 {
			time.Sleep(time.Millisecond) // polling, not a time limit
		}
		close(done)
	}()
	<-done // the test times out (go test -timeout) if the timer never writes
	if got := strings.Join(w.snapshot(), ""); got != "delivered x\n" {
		t.Errorf("written %q", got)
	}
}
