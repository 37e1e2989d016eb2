package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
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
	for _, s := range []string{a, b, a} {
		if _, err := q.EnqueueData(ctx, env, Data{Settings: json.RawMessage(s)}, strings.NewReader("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	batches := runBatches(t, q)
	got := map[string]int{}
	for _, bt := range batches {
		got[bt[0]] += len(bt)
	}
	if got[a] != 2 || got[b] != 1 || len(batches) != 2 {
		t.Errorf("batches %q, want two: two items of %s, one of %s", batches, a, b)
	}

	for _, bad := range []string{`"x"`, `{`, ``, `null`, `[]`} {
		if _, err := q.EnqueueData(ctx, env, Data{Settings: json.RawMessage(bad)}, strings.NewReader("x")); err == nil {
			t.Errorf("EnqueueData(%q): no error", bad)
		}
	}
}

// TestRunGroupsByStoredSettings: items are grouped by the settings read
// from their own files. Spool files whose header carries a "group" field
// (the key earlier versions took from their caller) that names another
// item's settings, or that differ between items with equal settings, do
// not change the batches: the item for mx2 is never handed over in the
// batch of mx1, and equal settings share a batch whatever their group
// field says. With the group field trusted, one batch held mx1 and mx2.
func TestRunGroupsByStoredSettings(t *testing.T) {
	q, _, _ := newQueue(t)
	one := `{"host":"mx1.example","port":25}`
	two := `{"host":"mx2.example","port":25}`
	for i, f := range []struct{ settings, group string }{
		{one, one},
		{two, one},     // lies: mx2's item claims mx1's group
		{one, "other"}, // mx1's item under another group
		{two, ""},
	} {
		writeItemFile(t, q, fmt.Sprintf("0000000000000%013d", i), f.settings, f.group, "Subject: x\r\n\r\nhi\r\n")
	}
	batches := runBatches(t, q)
	got := map[string]int{}
	for _, bt := range batches {
		got[bt[0]] += len(bt)
	}
	if got[one] != 2 || got[two] != 2 || len(batches) != 2 {
		t.Errorf("batches %q, want two: two items of %s, two of %s", batches, one, two)
	}
}

// runBatches runs q with a deliverer that defers every item and returns
// the settings of each batch's items; it fails the test for a batch whose
// items' settings differ.
func runBatches(t *testing.T, q *Queue) [][]string {
	t.Helper()
	var batches [][]string
	_, err := q.Run(context.Background(), RunConfig{Deliver: func(ctx context.Context, batch []*Item, report func(*Item, Result)) error {
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
	for _, bt := range batches {
		for _, d := range bt[1:] {
			if d != bt[0] {
				t.Errorf("one batch mixes %s and %s", bt[0], d)
			}
		}
	}
	return batches
}

// writeItemFile writes a spool file by hand, in the format of the message
// file (format.go), with a "group" field in its header unless group is "".
func writeItemFile(t *testing.T, q *Queue, id, settings, group, content string) {
	t.Helper()
	h := map[string]any{"id": id, "created": t0, "envelope": Envelope{From: "a@example.org", To: []string{"b@example.net"}},
		"settings": json.RawMessage(settings)}
	if group != "" {
		h["group"] = group
	}
	line, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s%s\n%s", magic, line, content)
	b.Write(trailer(int64(len(content)), sum[:]))
	if err := os.WriteFile(q.sub("msg", id+msgSuffix), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
