package pgqueue_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/submit"
)

// startSMTP is startServer with the account as an item's settings (its
// JSON), for EnqueueData.
func startSMTP(t *testing.T) (*server.Server, []byte) {
	t.Helper()
	srv, a := startServer(t)
	settings, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return srv, settings
}

// TestPostgresDeliverSizes: messages on each side of the sizes where the
// way a claimed item is read changes (inlined with the claim up to 32
// KiB; read by slices of 1 MiB above; held in memory by the deliverer up
// to 1 MiB, streamed into DATA above) reach the server byte for byte.
func TestPostgresDeliverSizes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := openPG(t, newDB(t), pgqueue.Options{})
	srv, settings := startSMTP(t)
	sizes := []int{32 << 10, 32<<10 + 1, 1 << 20, 1<<20 + 1, 2<<20 + 7}
	want := map[string][]byte{}
	for _, n := range sizes {
		head := fmt.Sprintf("Subject: %d\r\n\r\n", n)
		content := sized(head, n)
		e := env
		e.To = []string{fmt.Sprintf("s%d@example.net", n)}
		e.Body = "7BIT"
		if _, err := q.EnqueueData(ctx, e, outbox.Data{Settings: settings}, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		want[e.To[0]] = content
	}
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: (&submit.Deliverer{}).Deliver})
	if err != nil || st.Delivered != len(sizes) {
		t.Fatalf("run: %+v, %v; want %d delivered", st, err, len(sizes))
	}
	ms, err := srv.Wait(ctx, len(sizes))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		got, err := m.Data()
		if err != nil {
			t.Fatal(err)
		}
		if w := want[m.To[0]]; !bytes.Equal(got, w) {
			t.Errorf("%s: the server got %d bytes, want the %d queued", m.To[0], len(got), len(w))
		}
	}
}

// sized is a message of n bytes: head and lines that end with CRLF (the
// client adds none at the end).
func sized(head string, n int) []byte {
	pad := n - len(head)
	b := append([]byte(head), bytes.Repeat([]byte("0123456789abcdef\r\n"), pad/18)...)
	switch rem := pad % 18; {
	case rem == 1:
		b = append(b[:len(b)-2], "g\r\n"...)
	case rem >= 2:
		b = append(b, bytes.Repeat([]byte("y"), rem-2)...)
		b = append(b, "\r\n"...)
	}
	return b
}

// hookReader calls after once its reader has given n bytes.
type hookReader struct {
	io.ReadCloser
	n     int
	after func()
}

func (r *hookReader) Read(p []byte) (int, error) {
	if r.after != nil && r.n <= 0 {
		r.after()
		r.after = nil
	}
	if r.after != nil {
		p = p[:min(len(p), r.n)]
	}
	n, err := r.ReadCloser.Read(p)
	r.n -= n
	return n, err
}

// TestPostgresDeliverChangedMidData: an item whose stored message stops
// reading between two slices while it is sent (another runner took it
// over after this one's lease ran out during a slow DATA, delivered and
// removed it; or its row was rewritten) does not reach the server (the
// partial message is dropped: the connection is closed without the end
// marker) and is not judged a failure of the message: deferred if still
// queued, never moved to the failed items. Before, the read's error came
// back as a usage error of the DATA (Temporary false), the item was
// judged a permanent failure, and a rewritten one was moved to the
// failed items.
func TestPostgresDeliverChangedMidData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change string
		queued int // rows left in tlsmail.outbox
	}{
		{"removed by another runner", `WITH o AS (DELETE FROM tlsmail.outbox WHERE id = $1) DELETE FROM tlsmail.message WHERE id = $1`, 0},
		{"rewritten", `UPDATE tlsmail.message SET content = content WHERE id = $1`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := newDB(t)
			q := openPG(t, url, pgqueue.Options{})
			db := dial(t, url)
			srv, settings := startSMTP(t)
			content := sized("Subject: big\r\n\r\n", 3<<20)
			e := env
			e.Body = "7BIT"
			id, err := q.EnqueueData(ctx, e, outbox.Data{Settings: settings}, bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			d := &submit.Deliverer{}
			deliver := func(ctx context.Context, batch []*outbox.Item, report func(*outbox.Item, outbox.Result)) error {
				for i, it := range batch {
					batch[i] = outbox.NewItem(*it, it.Data(), func() (io.ReadCloser, error) {
						r, err := it.Open()
						if err != nil {
							return nil, err
						}
						return &hookReader{ReadCloser: r, n: 3 << 19, after: func() {
							if _, err := db.Exec(ctx, tc.change, id); err != nil {
								t.Error(err)
							}
						}}, nil
					})
				}
				return d.Deliver(ctx, batch, report)
			}
			var results []outbox.Result
			st, err := q.Run(ctx, outbox.RunConfig{Deliver: deliver, OnResult: func(_ *outbox.Item, r outbox.Result) { results = append(results, r) }})
			if err != nil {
				t.Fatalf("run: %+v, %v", st, err)
			}
			if st.Failed != 0 || st.Delivered != 0 {
				t.Errorf("run: %+v; want neither delivered nor failed", st)
			}
			if len(results) != 1 || results[0].Outcome != outbox.Temporary {
				t.Errorf("the item's outcomes: %+v; want one, temporary", results)
			}
			if ms, _ := srv.Messages(); len(ms) != 0 {
				t.Errorf("the server stored %d messages; want none (the partial one dropped)", len(ms))
			}
			var queued, failed int
			if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM tlsmail.outbox), (SELECT count(*) FROM tlsmail.failed)`).Scan(&queued, &failed); err != nil {
				t.Fatal(err)
			}
			if queued != tc.queued || failed != 0 {
				t.Errorf("rows: %d queued, %d failed; want %d queued, none failed", queued, failed, tc.queued)
			}
		})
	}
}

// TestPostgresDeliverSizeMismatch: a claimed item whose stored message is
// not of its recorded size (the row was changed outside tlsmail) reads the
// same at every attempt (outbox.ErrDamaged): it is moved to the failed
// items with the reason at once, as a claim moves a row it cannot read,
// not deferred attempt after attempt until it expires, whether the claim
// inlined it (up to 32 KiB) or it is read by slices. Nothing reaches the
// server. Before, both were deferred.
func TestPostgresDeliverSizeMismatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := newDB(t)
	q := openPG(t, url, pgqueue.Options{})
	db := dial(t, url)
	srv, settings := startSMTP(t)
	e := env
	e.Body = "7BIT"
	var ids []string
	for _, n := range []int{20 << 10, 40 << 10} {
		id, err := q.EnqueueData(ctx, e, outbox.Data{Settings: settings}, bytes.NewReader(sized("Subject: x\r\n\r\n", n)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `UPDATE tlsmail.outbox SET size = size + 1 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	st, err := q.Run(ctx, outbox.RunConfig{Deliver: (&submit.Deliverer{}).Deliver})
	if err != nil || st.Failed != 2 || st.Deferred != 0 {
		t.Errorf("run: %+v, %v; want both items failed, none deferred", st, err)
	}
	if ms, _ := srv.Messages(); len(ms) != 0 {
		t.Errorf("the server stored %d messages; want none", len(ms))
	}
	for _, id := range ids {
		var reason string
		if err := db.QueryRow(ctx, `SELECT reason FROM tlsmail.failed WHERE id = $1`, id).Scan(&reason); err != nil || !strings.Contains(reason, "size") && !strings.Contains(reason, "queued with") {
			t.Errorf("the failed item's reason: %q, %v; want the size mismatch", reason, err)
		}
	}
}
