package outbox

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestPermanentNarrowsRecipients: a Permanent Result naming some of the
// item's recipients leaves the failed item with those only (the content
// unchanged and its checksum valid, nothing left in the queue, on Windows
// too, which does not replace an open file); one naming all of them, or
// none of the item's, leaves the envelope as it was.
func TestPermanentNarrowsRecipients(t *testing.T) {
	to := []string{"a@x", "b@x", "c@x"}
	for _, tc := range []struct {
		name   string
		failed []string
		want   []string
	}{
		{"some", []string{"c@x", "a@x"}, []string{"a@x", "c@x"}},
		{"all", to, to},
		{"unknown", []string{"z@x"}, to},
		{"unset", nil, to},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _, _ := newQueue(t)
			content := "Subject: s\r\n\r\nbody\r\n"
			id, err := q.EnqueueData(context.Background(), Envelope{From: "f@x", To: to, Body: "7BIT"}, testAcct{Host: "h"}.data(), strings.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.Run(context.Background(), RunConfig{Deliver: func(ctx context.Context, b []*Item, report func(*Item, Result)) error {
				for _, it := range b {
					report(it, Result{Outcome: Permanent, Err: errors.New("550 refused"), Recipients: tc.failed})
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := q.Count(); n != 0 || err != nil {
				t.Errorf("%d items left in the queue (%v); want the item in failed/ alone", n, err)
			}
			it, err := q.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(it.Envelope.To, tc.want) || it.Envelope.From != "f@x" || it.Envelope.Body != "7BIT" || acctOf(t, it).Host != "h" || it.Reason != "550 refused" {
				t.Errorf("failed item %+v %+v reason %q; want recipients %q", it.Envelope, acctOf(t, it), it.Reason, tc.want)
			}
			rc, err := it.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if b, err := io.ReadAll(rc); err != nil || string(b) != content {
				t.Errorf("content %q, %v", b, err)
			}
		})
	}
}
