package smtp

import (
	"strings"
	"testing"
)

// TestReplyWireLines: a reply is rendered as the server sent it, code and
// enhanced status on every line, "-" on all but the last (RFC 5321 section
// 4.2.1), as msmtp's log line's smtpmsg= writes it.
func TestReplyWireLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r    Reply
		want string
	}{
		{Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"ok"}}, "250 2.0.0 ok"},
		{Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no such", "user"}}, "550-5.1.1 no such|550 5.1.1 user"},
		{Reply{Code: 221, Lines: []string{"a", "b", "c"}}, "221-a|221-b|221 c"},
		{Reply{Code: 354}, "354 "},
	} {
		if got := strings.Join(tc.r.WireLines(), "|"); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}
