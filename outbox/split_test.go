package outbox

import (
	"fmt"
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
