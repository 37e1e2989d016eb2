package submit

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestDelivererTranscriptParallel: batches delivered at once
// (RunConfig.Parallel) share the Deliverer's Transcript writer, here a
// bytes.Buffer as a library user would give: its writes are serialised
// (go test -race saw two sessions writing the buffer at once) and every
// session's lines are whole.
func TestDelivererTranscriptParallel(t *testing.T) {
	srv, a := startTestServer(t)
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const groups = 6
	for i := range groups {
		b := *a
		b.LocalName = fmt.Sprintf("client%d.example", i) // another Account: another batch
		if _, err := Enqueue(context.Background(), q, &b, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}},
			strings.NewReader("Subject: t\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	d := &Deliverer{Transcript: &log}
	st, err := q.Run(context.Background(), outbox.RunConfig{Deliver: d.Deliver, Parallel: groups})
	if err != nil || st.Delivered != groups {
		t.Fatalf("run: %+v, %v", st, err)
	}
	if _, err := srv.Wait(context.Background(), groups); err != nil {
		t.Fatal(err)
	}
	for i := range groups {
		if n := strings.Count(log.String(), fmt.Sprintf("EHLO client%d.example\n", i)); n != 2 {
			t.Errorf("session %d: %d whole EHLO lines in the transcript, want 2 (before and after STARTTLS)", i, n)
		}
	}
}
