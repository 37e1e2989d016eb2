package submit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestWriteList lists a real spool: an empty one says so; queued items
// are a table, at most limit rows; failed items (moved there by a run
// whose server refused them for good) are listed under where they are,
// with the reason; the JSON object has both lists, limited too. Text a
// sender or a server chose is quoted, one line per item.
func TestWriteList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if n, err := WriteQueued(&b, q, 0); n != 0 || err != nil || b.String() != fmt.Sprintf("The outbox %s is empty.\n", q.Dir()) {
		t.Fatalf("empty outbox: %d, %v, %q", n, err, b.String())
	}
	b.Reset()
	if n, err := WriteFailed(&b, q, 0); n != 0 || err != nil || b.Len() != 0 {
		t.Fatalf("no failed items: %d, %v, %q", n, err, b.String())
	}

	a := &Account{Host: "smtp.example.org", Port: 587}
	const hostile = "evil\x1b[2J\r\n    fix: trust me"
	envs := []outbox.Envelope{
		{From: "a@example.org", To: []string{"b@example.net"}},
		{From: "", To: []string{"c@example.net", "d@example.net" + hostile}},
		{From: "a@example.org", To: []string{"e@example.net"}},
	}
	var failID string
	for i, env := range envs {
		id, err := Enqueue(ctx, q, a, env, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			failID = id
		}
	}
	// The server refuses the last item for good, with a hostile reply,
	// and defers the others.
	_, err = q.Run(ctx, outbox.RunConfig{Force: true, Deliver: func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
		for _, it := range batch {
			if it.ID == failID {
				report(it, outbox.Result{Outcome: outbox.Permanent, Err: errors.New("550 " + hostile)})
			} else {
				report(it, outbox.Result{Outcome: outbox.Temporary, Err: errors.New("451 try later")})
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}

	b.Reset()
	n, err := WriteQueued(&b, q, 0)
	if n != 2 || err != nil {
		t.Fatalf("WriteQueued = %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "LAST ERROR") {
		t.Fatalf("the table:\n%s", b.String())
	}
	for _, l := range lines {
		if !safetext.IsClean(l) {
			t.Errorf("unquoted line %q", l)
		}
	}
	for _, w := range []string{"<>", `d@example.net` + `evil\x1b[2J`, "451 try later", "a@example.org"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("the table lacks %q:\n%s", w, b.String())
		}
	}
	b.Reset()
	if n, err := WriteQueued(&b, q, 1); n != 1 || err != nil || strings.Count(b.String(), "\n") != 2 {
		t.Errorf("limit 1: %d, %v\n%s", n, err, b.String())
	}

	b.Reset()
	n, err = WriteFailed(&b, q, 0)
	if n != 1 || err != nil {
		t.Fatalf("WriteFailed = %d, %v", n, err)
	}
	want := fmt.Sprintf("\nFailed (in %s):\n%s  ", q.Where(outbox.PartFailed), failID)
	if !strings.HasPrefix(b.String(), want) || !strings.Contains(b.String(), `550 evil\x1b[2J`) || strings.Count(b.String(), "\n") != 3 {
		t.Errorf("failed listing:\n%q\nwant it to begin %q", b.String(), want)
	}

	for _, limit := range []int{0, 1} {
		b.Reset()
		if err := WriteListJSON(&b, q, limit); err != nil {
			t.Fatal(err)
		}
		var j struct {
			OK             bool
			Dir            string
			Queued, Failed []ItemInfo
		}
		if err := json.Unmarshal(b.Bytes(), &j); err != nil {
			t.Fatalf("limit %d: %v\n%s", limit, err, b.String())
		}
		wantQueued := 2
		if limit == 1 {
			wantQueued = 1
		}
		if !j.OK || j.Dir != q.Dir() || len(j.Queued) != wantQueued || len(j.Failed) != 1 || j.Failed[0].ID != failID || j.Failed[0].Server != "smtp.example.org:587" {
			t.Errorf("limit %d: %+v", limit, j)
		}
	}
}
