package server

import (
	"strings"
	"testing"
)

func TestTraceWriter(t *testing.T) {
	const secret = "c2VjcmV0" // base64("secret"), what must never appear
	for _, tc := range []struct {
		name   string
		chunks []string // as go-smtp hands them over: reads and writes, in order
		want   []string
	}{
		{
			name:   "plain with initial response",
			chunks: []string{"AUTH PLAIN " + secret + "\r\n", "235 2.0.0 Authentication succeeded\r\n"},
			want:   []string{"C: AUTH PLAIN [redacted initial response]", "S: 235 2.0.0 Authentication succeeded"},
		},
		{
			name: "login challenge by challenge",
			chunks: []string{"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "YWxpY2U=\r\n", "334 UGFzc3dvcmQ6\r\n",
				secret + "\r\n", "235 2.0.0 ok\r\n", "MAIL FROM:<a@b>\r\n"},
			want: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: [redacted SASL response]",
				"S: 334 UGFzc3dvcmQ6", "C: [redacted SASL response]", "S: 235 2.0.0 ok", "C: MAIL FROM:<a@b>"},
		},
		{
			name:   "response split across reads",
			chunks: []string{"AUTH PLAIN\r\n", "334 \r\n", secret[:3], secret[3:] + "\r", "\n", "535 5.7.8 no\r\n"},
			want:   []string{"C: AUTH PLAIN", "S: 334 ", "C: [redacted SASL response]", "S: 535 5.7.8 no"},
		},
		{
			name:   "pipelined auth response in one read",
			chunks: []string{"auth plain\r\n" + secret + "\r\n", "334 \r\n", "235 2.0.0 ok\r\n"},
			want:   []string{"C: auth plain", "C: [redacted SASL response]", "S: 334 ", "S: 235 2.0.0 ok"},
		},
		{
			name: "data lines are client lines even when they look like replies",
			chunks: []string{"DATA\r\n", "354 Go ahead\r\n", "250 looks like a reply\r\nAUTH PLAIN x\r\n.\r\n",
				"250 2.0.0 Ok: queued as X\r\n"},
			want: []string{"C: DATA", "S: 354 Go ahead", "C: 250 looks like a reply", "C: AUTH PLAIN x", "C: .",
				"S: 250 2.0.0 Ok: queued as X"},
		},
		{
			name:   "control characters escaped",
			chunks: []string{"EHLO a\x1b[31mb\x00\r\n"},
			want:   []string{`C: EHLO a\x1b[31mb\x00`},
		},
		{
			name:   "long line cut",
			chunks: []string{"NOOP " + strings.Repeat("x", 3000), strings.Repeat("y", 3000) + "\r\n", "250 ok\r\n"},
			want:   []string{"C: NOOP " + strings.Repeat("x", maxTraceLine-5) + " [...]", "S: 250 ok"},
		},
		{
			name:   "long AUTH line still redacted",
			chunks: []string{"AUTH PLAIN " + strings.Repeat(secret, 500) + "\r\n"},
			want:   []string{"C: AUTH PLAIN [redacted initial response]"},
		},
		{
			name:   "incomplete last line flushed",
			chunks: []string{"QUIT"},
			want:   []string{"C: QUIT [...]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tw := newTraceWriter(&b, "[c1] ")
			for _, c := range tc.chunks {
				if n, err := tw.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			tw.flush()
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			var want []string
			for _, w := range tc.want {
				want = append(want, "[c1] "+w)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if strings.Contains(b.String(), secret) {
				t.Errorf("secret in trace")
			}
		})
	}
}

func TestReplySanitised(t *testing.T) {
	for _, tc := range []struct {
		in   Reply
		code int
		enh  [3]int
		text string
	}{
		{Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no"}, 550, [3]int{5, 1, 1}, "no"},
		{Reply{Code: 451}, 451, [3]int{}, "Refused"},
		{Reply{Code: 250, Text: "ok"}, 451, [3]int{4, 3, 0}, "Refused (test hook returned an invalid reply code)"},
		{Reply{Code: 999}, 451, [3]int{4, 3, 0}, "Refused (test hook returned an invalid reply code)"},
		{Reply{Code: 554, Text: "a\r\n250 injected"}, 554, [3]int{}, "a  250 injected"},
	} {
		e := tc.in.smtpError()
		if e.Code != tc.code || [3]int(e.EnhancedCode) != tc.enh || e.Message != tc.text {
			t.Errorf("%+v → %d %v %q, want %d %v %q", tc.in, e.Code, e.EnhancedCode, e.Message, tc.code, tc.enh, tc.text)
		}
	}
}

// Client-chosen text (addresses, HELO names) reaches the event log; it must
// not carry terminal escapes or start lines of its own.
func TestLogQuotesClientText(t *testing.T) {
	var b strings.Builder
	l := &logger{w: newLockedWriter(&b)}
	l.printf("MAIL FROM:<%s>", "a@evil\x1b[2J\r\n2026-01-01T00:00:00.000Z forged")
	out := b.String()
	if strings.Count(out, "\n") != 1 || strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("log line %q carries control characters", out)
	}
	if !strings.Contains(out, `\x1b[2J\x0d\x0a`) {
		t.Errorf("log line %q does not show the quoted bytes", out)
	}
}
