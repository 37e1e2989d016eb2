package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
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

// readItem reads a small file in one go; a header longer than that first
// read, or content that is not in it, is read as before.
func TestReadItemSizes(t *testing.T) {
	many := make([]string, 300) // a header of about 9 KB
	for i := range many {
		many[i] = fmt.Sprintf("recipient-%03d@example.net", i)
	}
	tests := []struct {
		name string
		to   []string
		body string
	}{
		{"small", []string{"ann@example.net"}, "Subject: x\r\n\r\nbody\r\n"},
		{"large content", []string{"ann@example.net"}, "Subject: x\r\n\r\n" + strings.Repeat("0123456789\r\n", 1000)},
		{"large header", many, "Subject: x\r\n\r\nbody\r\n"},
		{"content ends at the first read", []string{"ann@example.net"}, strings.Repeat("x", headRead-300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _, _ := newQueue(t)
			id, err := q.EnqueueData(context.Background(), Envelope{From: "joe@example.org", To: tt.to}, testSettings.data(), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			it, err := q.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(it.Envelope.To, tt.to) || it.Size != int64(len(tt.body)) {
				t.Errorf("read back %d recipients and size %d", len(it.Envelope.To), it.Size)
			}
			r, err := it.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil || string(b) != tt.body {
				t.Errorf("content: %d bytes, %v", len(b), err)
			}
		})
	}
}
