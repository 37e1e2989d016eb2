package secchan

import (
	"context"
	"testing"
	"time"
)

// TestRevocationBudget: the revocation fetches get half of what is left of
// the handshake's deadline, nothing once it has passed, and no bound
// without one; a deadline centuries away does not overflow.
func TestRevocationBudget(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		deadline time.Time
		want     time.Duration
		wantOK   bool
	}{
		{"no deadline", time.Time{}, 0, false},
		{"20s left", now.Add(20 * time.Second), 10 * time.Second, true},
		{"4s left", now.Add(4 * time.Second), 2 * time.Second, true},
		{"1ns left", now.Add(1), 0, true},
		{"deadline now", now, 0, true},
		{"deadline passed", now.Add(-time.Second), 0, true},
		{"deadline at the end of time", time.Unix(1<<62, 0), (1<<63 - 1) / 2, true},
	}
	for _, c := range cases {
		got, ok := RevocationBudget(now, c.deadline)
		if got != c.want || ok != c.wantOK {
			t.Errorf("%s: %v, %v; want %v, %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
}

// TestRevocationContext: the context's deadline is the budget's, it ends
// with its parent, and without a deadline it has none.
func TestRevocationContext(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	before := time.Now()
	ctx, stop := RevocationContext(parent)
	defer stop()
	dl, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	pdl, _ := parent.Deadline()
	// Half of what was left, give or take the time this test took (a
	// generous minute either way).
	if lo, hi := before.Add(pdl.Sub(before)/2-time.Minute), before.Add(pdl.Sub(before)/2+time.Minute); dl.Before(lo) || dl.After(hi) {
		t.Errorf("deadline %v, want about half an hour from now (parent's %v)", dl, pdl)
	}
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled with its parent")
	}

	free, stop2 := RevocationContext(context.Background())
	defer stop2()
	if _, ok := free.Deadline(); ok {
		t.Error("a deadline without a parent deadline")
	}
}
