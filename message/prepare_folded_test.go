package message

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPrepareManyFoldedLines: a header field folded over 1,300,000 lines
// (4 MiB, under a library caller's MaxHeaderBytes) is read in linear time,
// and a folded field is still unfolded whole (its recipients read with
// -t). Before, each continuation line copied the value read so far again:
// 50 s of CPU for the 1 MiB sendmail allows, before anything was sent, and
// a quarter of an hour for this one. The bound is only
// there so that a regression fails instead of hanging.
func TestPrepareManyFoldedLines(t *testing.T) {
	in := "From: a@example.org\nTo: r1@x.org,\n r2@x.org,\n\tr3@x.org\nSubject: é\n" +
		strings.Repeat(" a\n", 1300000) + "\nbody\n"
	type result struct {
		m   *Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := Prepare(strings.NewReader(in), PrepareOptions{ExtractRecipients: true, MaxHeaderBytes: 4 << 20})
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if to := r.m.Envelope().To; !slices.Equal(to, []string{"r1@x.org", "r2@x.org", "r3@x.org"}) {
			t.Errorf("recipients %q", to)
		}
	case <-time.After(time.Minute):
		t.Fatalf("Prepare of a %d-byte header still running after a minute", len(in))
	}
}
