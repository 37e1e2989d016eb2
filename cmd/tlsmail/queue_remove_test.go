package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestQueueRemoveMany: queue remove tries every ID given. An ID given
// twice is removed once: the second mention is not a failure (before, it
// was "not in the outbox", exit 66, although everything asked for was
// removed). Several failures are each on standard error in the order of
// the arguments, the command's exit code the first one's (before, the
// first failure came last, after the later ones, as the command's error).
func TestQueueRemoveMany(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := outbox.Open(dir, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		id, err := q.EnqueueData(context.Background(), outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			outbox.Data{Settings: []byte(`{}`)}, strings.NewReader("Subject: x\r\n\r\nhi\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := cli{args: []string{"queue", "remove", "--queue-dir", dir, ids[0], ids[0], ids[1]}}.run(t)
	if r.code != 0 || strings.Count(r.stdout, "removed ") != 2 || r.stderr != "" {
		t.Errorf("remove A A B: want exit 0, A and B removed once each, nothing on standard error:\n%s", r)
	}
	const missing1, missing2 = "0123456789abcdef0123456789", "zz\x1b[31m"
	r = cli{args: []string{"queue", "remove", "--queue-dir", dir, missing1, ids[2], missing2}}.run(t)
	if r.code != exitNoInput || !strings.Contains(r.stdout, "removed "+ids[2]) {
		t.Errorf("remove missing C missing: want exit %d and C removed:\n%s", exitNoInput, r)
	}
	i1, i2 := strings.Index(r.stderr, missing1), strings.Index(r.stderr, `zz\x1b[31m`)
	if i1 < 0 || i2 < 0 || i1 > i2 {
		t.Errorf("remove missing C missing: want both failures on standard error, in the arguments' order (the escape shown escaped):\n%s", r)
	}
	if strings.Contains(r.stderr, "\x1b") {
		t.Errorf("a control character reached the terminal:\n%q", r.stderr)
	}
	if left, err := q.List(); err != nil || len(left) != 0 {
		t.Errorf("left in the outbox: %d, %v", len(left), err)
	}
}
