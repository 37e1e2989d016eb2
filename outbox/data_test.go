package outbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestEnqueueData: settings the outbox does not interpret come back from
// Item.Data byte for byte (after a run reads the file, with and without
// the header cache), and Run groups the items by their settings: two items
// whose JSON differs in one field go to two batches.
func TestEnqueueData(t *testing.T) {
	q, _, _ := newQueue(t)
	ctx := context.Background()
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	a := `{"host":"mx.example","port":587,"cert_store":"MY","cert_thumbprint":"AA"}`
	b := `{"host":"mx.example","port":587,"cert_store":"MY","cert_thumbprint":"BB"}`
	for _, d := range []Data{{json.RawMessage(a), "A"}, {json.RawMessage(b), "B"}, {json.RawMessage(a), "A"}} {
		if _, err := q.EnqueueData(ctx, env, d, strings.NewReader("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}

	var batches [][]string
	_, err := q.Run(ctx, RunConfig{Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
		var datas []string
		for _, it := range batch {
			datas = append(datas, string(it.Data()))
			report(it, Result{Outcome: Temporary})
		}
		batches = append(batches, datas)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, bt := range batches {
		for _, d := range bt[1:] {
			if d != bt[0] {
				t.Errorf("one batch mixes %s and %s", bt[0], d)
			}
		}
		got[bt[0]] += len(bt)
	}
	if got[a] != 2 || got[b] != 1 || len(batches) != 2 {
		t.Errorf("batches %q, want two: two items of %s, one of %s", batches, a, b)
	}

	for _, bad := range []Data{{json.RawMessage(`"x"`), "g"}, {json.RawMessage(`{`), "g"}, {json.RawMessage(`{}`), ""}} {
		if _, err := q.EnqueueData(ctx, env, bad, strings.NewReader("x")); err == nil {
			t.Errorf("EnqueueData(%s, group %q): no error", bad.Settings, bad.Group)
		}
	}
}
