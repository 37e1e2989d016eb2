package submit

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestEnqueueRecordsNeeds: Enqueue records what the content needs of MAIL
// FROM (RFC 6152 BODY=8BITMIME, RFC 6531 SMTPUTF8), from the content when
// the caller did not say, and leaves it unrecorded only for a content too
// large to hold while scanning.
func TestEnqueueRecordsNeeds(t *testing.T) {
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &Account{Host: "mx.example", Port: 587}
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", scanAhead) + "\xc3\xa9\r\n"
	tests := []struct {
		name, from, content string
		given               outbox.Envelope
		body                string
		utf8                bool
	}{
		{"ascii", "a@example.org", "Subject: hi\r\n\r\nhello\r\n", outbox.Envelope{}, "7BIT", false},
		{"8-bit body", "a@example.org", "Subject: hi\r\n\r\ncaf\xc3\xa9\r\n", outbox.Envelope{}, "8BITMIME", false},
		{"UTF-8 header", "a@example.org", "Subject: caf\xc3\xa9\r\n\r\nhello\r\n", outbox.Envelope{}, "7BIT", true},
		{"UTF-8 address", "j\xc3\xb6rg@example.org", "Subject: hi\r\n\r\nhello\r\n", outbox.Envelope{}, "7BIT", true},
		{"given by the caller", "a@example.org", "Subject: hi\r\n\r\nhello\r\n", outbox.Envelope{Body: "8BITMIME"}, "8BITMIME", false},
		{"too large to scan", "a@example.org", big, outbox.Envelope{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.given
			env.From, env.To = tc.from, []string{"b@example.net"}
			id, err := Enqueue(context.Background(), q, a, env, strings.NewReader(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			it, err := q.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if it.Envelope.Body != tc.body || it.Envelope.SMTPUTF8 != tc.utf8 {
				t.Errorf("recorded body %q smtputf8 %v, want %q %v", it.Envelope.Body, it.Envelope.SMTPUTF8, tc.body, tc.utf8)
			}
			r, err := it.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil || string(b) != tc.content {
				t.Errorf("content changed by the scan (%d bytes, want %d): %v", len(b), len(tc.content), err)
			}
		})
	}
}

// TestDeliverUsesRecordedNeeds: a large item (streamed, not read into
// memory) whose needs were recorded goes out with them, without a scan:
// all-ASCII content recorded as 8BITMIME is announced as BODY=8BITMIME.
// One whose needs were not recorded is scanned, as before.
func TestDeliverUsesRecordedNeeds(t *testing.T) {
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	large := "Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", smallItem/18+10)
	for _, body := range []string{"8BITMIME", "7BIT"} {
		env := outbox.Envelope{From: "a@example.org", To: []string{strings.ToLower(body) + "@example.net"}, Body: body}
		if _, err := Enqueue(context.Background(), q, a, env, strings.NewReader(large)); err != nil {
			t.Fatal(err)
		}
	}
	// Unrecorded and 8-bit: the legacy path scans it.
	data, _ := a.MarshalJSON()
	if _, err := q.EnqueueData(context.Background(), outbox.Envelope{From: "a@example.org", To: []string{"scanned@example.net"}},
		outbox.Data{Settings: data}, strings.NewReader(large+"caf\xc3\xa9\r\n")); err != nil {
		t.Fatal(err)
	}
	d := &Deliverer{}
	st, err := q.Run(context.Background(), outbox.RunConfig{Deliver: d.Deliver})
	if err != nil || st.Delivered != 3 {
		t.Fatalf("run: %+v, %v; want 3 delivered", st, err)
	}
	ms, err := srv.Wait(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"8bitmime@example.net": "8BITMIME", "7bit@example.net": "", "scanned@example.net": "8BITMIME"}
	for _, m := range ms {
		if w := want[m.To[0]]; m.Body != w && !(w == "" && m.Body == "7BIT") {
			t.Errorf("%s: BODY=%q, want %q", m.To[0], m.Body, w)
		}
	}
}
