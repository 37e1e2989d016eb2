package pgqueue_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestUnreadableSettingsFailAtOnce: on both stores, an item whose settings
// do not decode into a submit.Account (the former Settings' "extra" map,
// a field of the wrong type) used to be deferred as a temporary failure
// at every run until it expired, days later, although no later run could
// read it either. It fails at the first run now, as a permanent failure
// whose stored reason says what happened and what to do, and the failed
// item keeps the message.
func TestUnreadableSettingsFailAtOnce(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q := open(t)
			contents := map[string]string{}
			for i, settings := range []string{
				`{"host":"127.0.0.1","port":1,"tls":"starttls","extra":{"x":"y"}}`,
				`{"host":"127.0.0.1","port":"garbage"}`,
			} {
				id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: json.RawMessage(settings)}, strings.NewReader(msg(i)))
				if err != nil {
					t.Fatal(err)
				}
				contents[id] = msg(i)
			}
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
			if err != nil || st.Failed != 2 || st.Deferred != 0 {
				t.Fatalf("Run = %+v, %v; want 2 failed at once, none deferred", st, err)
			}
			if n, _ := q.Count(); n != 0 {
				t.Errorf("%d items still queued", n)
			}
			failed, err := q.ListFailed()
			if err != nil || len(failed) != 2 {
				t.Fatalf("ListFailed = %d items, %v; want 2", len(failed), err)
			}
			for _, it := range failed {
				if !it.Permanent || !strings.Contains(it.Reason, "cannot read the queued item's settings") ||
					!strings.Contains(it.Reason, "send the message again") {
					t.Errorf("failed item %s: permanent %v, reason %q; want a permanent failure saying what to do", it.ID, it.Permanent, it.Reason)
				}
				rc, err := it.Open()
				if err != nil {
					t.Fatalf("item %s: %v", it.ID, err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				if string(b) != contents[it.ID] {
					t.Errorf("item %s holds %q, want the message %q", it.ID, b, contents[it.ID])
				}
			}
		})
	}
}

// TestNewerSettingsWait: on both stores, an item whose settings hold a key
// this version does not know (queued by a newer tlsmail sharing the queue)
// is neither delivered without that setting (which could be a trust or
// auth requirement) nor failed (a newer worker can deliver it): it is
// deferred, and its last error names the key and what to do.
func TestNewerSettingsWait(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q := open(t)
			id, err := q.EnqueueData(ctx, env, outbox.Data{Settings: json.RawMessage(
				`{"host":"127.0.0.1","port":1,"tls":"starttls","require_dane":true}`)}, strings.NewReader(msg(0)))
			if err != nil {
				t.Fatal(err)
			}
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
			if err != nil || st.Deferred != 1 || st.Failed != 0 || st.Delivered != 0 {
				t.Fatalf("Run = %+v, %v; want the item deferred", st, err)
			}
			var got *outbox.Item
			if err := q.Walk(func(it *outbox.Item) error {
				if it.ID == id {
					got = it
				}
				return nil
			}); err != nil || got == nil {
				t.Fatalf("the item is not queued any more (%v)", err)
			}
			if !strings.Contains(got.LastError, `"require_dane"`) || !strings.Contains(got.LastError, "newer") {
				t.Errorf("last error %q; want it to name the unknown setting and a newer version", got.LastError)
			}
		})
	}
}
