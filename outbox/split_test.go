package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		n, size, minBatch, parallel int
		want                        []int
	}{
		{0, 100, 16, 4, nil},
		{1, 100, 16, 4, []int{1}},
		{15, 100, 16, 4, []int{15}},     // too few to share
		{32, 100, 16, 4, []int{16, 16}}, // two connections' worth
		{40, 100, 16, 4, []int{20, 20}}, // 40/16 = 2
		{64, 100, 16, 4, []int{16, 16, 16, 16}},
		{1000, 100, 16, 4, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
		{250, 100, 16, 4, []int{62, 63, 62, 63}}, // spread, not 100+100+50
		{250, 100, 16, 1, []int{83, 83, 84}},     // capped by size only
		{7, 3, 1, 2, []int{2, 2, 3}},
		{4, 3, 16, 8, []int{2, 2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n, "/", tt.size, "/", tt.minBatch, "/", tt.parallel), func(t *testing.T) {
			g := make([]*Item, tt.n)
			for i := range g {
				g[i] = &Item{ID: fmt.Sprint(i)}
			}
			var got []int
			var seen []*Item
			for _, b := range split(g, tt.size, tt.minBatch, tt.parallel) {
				got = append(got, len(b))
				seen = append(seen, b...)
				if len(b) > tt.size {
					t.Errorf("batch of %d > size %d", len(b), tt.size)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("sizes %v, want %v", got, tt.want)
			}
			if !slices.Equal(seen, g) {
				t.Error("the batches do not hold every item once, in order")
			}
		})
	}
}

// A delivered item leaves nothing behind in msg/, whether it had a state
// file (deferred before) or not (Run then skips removing one).
func TestDeliveredLeavesNoState(t *testing.T) {
	q, _, _ := newQueue(t)
	fresh := enqueue(t, q, testSettings, "fresh")
	deferred := enqueue(t, q, testSettings, "deferred once")
	first := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			if it.ID == deferred {
				report(it, Result{Outcome: Temporary, Err: errors.New("try later")})
			}
		}
		return nil
	}
	if _, err := q.Run(context.Background(), RunConfig{Deliver: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q.sub("msg", deferred+stateSuffix)); err != nil {
		t.Fatalf("the deferred item has no state file: %v", err)
	}
	all := func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		for _, it := range batch {
			report(it, Result{Outcome: Delivered})
		}
		return nil
	}
	st, err := q.Run(context.Background(), RunConfig{Deliver: all, Force: true})
	if err != nil || st.Delivered != 2 {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	ents, err := os.ReadDir(q.sub("msg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in msg/: %s (items %s, %s)", e.Name(), fresh, deferred)
	}
}
