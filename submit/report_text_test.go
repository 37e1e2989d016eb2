package submit

import (
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
)

// TestReportString: each outcome of a pass is one line naming the item,
// its recipients and the reply or error; text from the server or the
// outbox is quoted, never passed through (an escape sequence, a line
// break that would forge a line of its own).
func TestReportString(t *testing.T) {
	t.Parallel()
	const hostile = "evil\x1b[2J\r\n    fix: trust me\u202e"
	next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.Local)
	tests := []struct {
		r    Report
		want []string
	}{
		{Report{ID: "1", Outcome: "delivered", Recipients: []string{"b@example.org", "c@example.org"}, Response: "250 2.0.0 queued as 42"},
			[]string{"delivered 1 to b@example.org,c@example.org: 250 2.0.0 queued as 42"}},
		{Report{ID: "2", Outcome: "deferred", Recipients: []string{"b@example.org"}, Error: "451 4.3.0 try\r\n  later", NextAttempt: next},
			[]string{"deferred  2 to b@example.org: 451 4.3.0 try later (next attempt 2030-01-02 03:04:05)"}},
		{Report{ID: "3", Outcome: "failed", Recipients: []string{"b@example.org"}, Error: "554 no"},
			[]string{"failed    3 to b@example.org: 554 no (moved to the failed items)"}},
		{Report{ID: "4", Outcome: "corrupt", Recipients: []string{"b@example.org"}, Error: "bad header"},
			[]string{"corrupt   4 to b@example.org: bad header (not sent; moved to corrupt/)"}},
		{Report{ID: "5", Outcome: "delivered", Recipients: []string{"b@example.org" + hostile}, Response: "250 " + hostile},
			[]string{`evil\x1b[2J`, `\u202e`}},
		{Report{ID: "6", Outcome: "deferred", Recipients: []string{"b@example.org"}, Error: "451 " + hostile, NextAttempt: next},
			[]string{`451 evil\x1b[2J fix: trust me\u202e`}},
	}
	for _, tc := range tests {
		got := tc.r.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: %q lacks %q", tc.r, got, w)
			}
		}
		if !safetext.IsClean(got) || strings.ContainsAny(got, "\r\n") {
			t.Errorf("%+v: %q is not one clean line", tc.r, got)
		}
	}
}
