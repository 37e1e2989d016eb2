package pgqueue_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/submit"
)

// TestPostgresOversizedSettingsFail: an item's settings are a few hundred
// bytes as tlsmail writes them, but a row written by SQL may carry up to
// jsonb's 255 MB, and a claim reads up to 250 rows of one group with
// their settings at once: 250 such rows are tens of gigabytes in the
// worker, which dies, and the same claim comes back after the lease, every
// lease. A row whose settings are over pgqueue.MaxSettings is not read:
// the claim moves it to the failed items, saying why, and delivers the
// rest. Before, it was read whole (and delivered: its padding is a field
// tlsmail ignores).
func TestPostgresOversizedSettingsFail(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	_, a := startServer(t)
	if _, err := submit.Enqueue(ctx, q, a, env, strings.NewReader(msg(0))); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{}
	b, _ := a.MarshalJSON()
	if err := json.Unmarshal(b, &settings); err != nil {
		t.Fatal(err)
	}
	settings["pad"] = strings.Repeat("a", pgqueue.MaxSettings)
	big := insertRow(t, url, settings)

	st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliverer()})
	if err != nil || st.Delivered != 1 || st.Failed != 1 {
		t.Fatalf("Run = %+v, %v; want 1 delivered, 1 failed", st, err)
	}
	failed, err := q.ListFailed()
	if err != nil || len(failed) != 1 || failed[0].ID != big {
		t.Fatalf("ListFailed = %d items, %v; want %s", len(failed), err, big)
	}
	if r := failed[0].Reason; !strings.Contains(r, "settings") || !strings.Contains(r, "larger than") {
		t.Errorf("the failed item's reason %q does not say its settings are too large", r)
	}
}
