package outbox

import (
	"testing"
	"time"
)

// TestStatsSummary: a run's line always has the three outcomes, and the
// other counts only when there are any, with where corrupt items went.
func TestStatsSummary(t *testing.T) {
	t.Parallel()
	where := func(p Part) string { return "/spool/" + string(p) }
	next := time.Date(2030, 1, 2, 3, 4, 5, 0, time.Local)
	tests := []struct {
		s    Stats
		want string
	}{
		{Stats{}, "0 delivered, 0 deferred, 0 failed"},
		{Stats{Delivered: 3, Deferred: 1, Failed: 2}, "3 delivered, 1 deferred, 2 failed"},
		{Stats{Delivered: 1, NotDue: 4, Next: next}, "1 delivered, 0 deferred, 0 failed, 4 not due yet (next at 2030-01-02 03:04:05)"},
		{Stats{Busy: 2, Corrupt: 1, Stuck: 5},
			"0 delivered, 0 deferred, 0 failed, 2 being delivered by another run, 1 corrupt file(s) moved to /spool/corrupt, 5 skipped (cannot be removed once delivered)"},
	}
	for _, tc := range tests {
		if got := tc.s.Summary(where); got != tc.want {
			t.Errorf("%+v.Summary:\n got %q\nwant %q", tc.s, got, tc.want)
		}
	}
}
