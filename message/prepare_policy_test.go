package message

import (
	"regexp"
	"strings"
	"testing"
)

// TestPrepareFieldPolicies: msmtp's header commands as PrepareOptions —
// set_from_header (auto, on, off), set_date_header and set_msgid_header
// (auto, off), remove_bcc_headers off and undisclosed_recipients — change
// the header as msmtp does, and never the envelope.
func TestPrepareFieldPolicies(t *testing.T) {
	const in = "From: Program <prog@example.net>\nTo: b@example.org\nCc: c@example.org,\n d@example.org\nBcc: hidden@example.org\nSubject: s\n\nbody\n"
	const bare = "To: b@example.org\nSubject: s\n\nbody\n"
	const full = "From: a@example.com\nTo: b@example.org\n" + "Date: Fri, 01 Mar 2024 12:30:00 +0100\nMessage-ID: <1@a>\nSubject: s\n\nbody\n"
	tests := []struct {
		name  string
		in    string
		opts  PrepareOptions
		want  string // the header section; @DATE@ and @ID@ stand for generated values
		rcpts string
	}{
		{"defaults: Bcc removed, Date and Message-ID added", in, PrepareOptions{From: "acct@example.com"},
			"From: Program <prog@example.net>\r\nTo: b@example.org\r\nCc: c@example.org,\r\n d@example.org\r\nSubject: s\r\nDate: @DATE@\r\nMessage-Id: <@ID@@example.net>\r\n",
			"b@example.org,c@example.org,d@example.org,hidden@example.org"},
		{"set_from_header on: the envelope sender's From replaces the message's", in, PrepareOptions{From: "acct@example.com", FromField: FieldAlways, DateField: FieldNever, MessageIDField: FieldNever},
			"To: b@example.org\r\nCc: c@example.org,\r\n d@example.org\r\nSubject: s\r\nFrom: acct@example.com\r\n", ""},
		{"set_from_header on with -F", in, PrepareOptions{From: "Cron Daemon <acct@example.com>", FromField: FieldAlways, DateField: FieldNever, MessageIDField: FieldAlways},
			"To: b@example.org\r\nCc: c@example.org,\r\n d@example.org\r\nSubject: s\r\nFrom: \"Cron Daemon\" <acct@example.com>\r\nMessage-Id: <@ID@@example.com>\r\n", ""},
		{"set_from_header off: no From added", bare, PrepareOptions{From: "acct@example.com", FromField: FieldNever, DateField: FieldNever, MessageIDField: FieldNever},
			"To: b@example.org\r\nSubject: s\r\n", "b@example.org"},
		{"set_date_header off, set_msgid_header off", bare, PrepareOptions{From: "acct@example.com", DateField: FieldNever, MessageIDField: FieldNever},
			"To: b@example.org\r\nSubject: s\r\nFrom: acct@example.com\r\n", ""},
		{"complete message: nothing changes", full, PrepareOptions{FromField: FieldAuto},
			"From: a@example.com\r\nTo: b@example.org\r\nDate: @DATE@\r\nMessage-ID: <1@a>\r\nSubject: s\r\n", ""},
		{"remove_bcc_headers off", in + "", PrepareOptions{KeepBcc: true, DateField: FieldNever, MessageIDField: FieldNever},
			"From: Program <prog@example.net>\r\nTo: b@example.org\r\nCc: c@example.org,\r\n d@example.org\r\nBcc: hidden@example.org\r\nSubject: s\r\n",
			"b@example.org,c@example.org,d@example.org,hidden@example.org"},
		{"undisclosed_recipients: To, Cc and Bcc replaced, the envelope kept", in, PrepareOptions{Undisclosed: true, KeepBcc: true, DateField: FieldNever, MessageIDField: FieldNever},
			"From: Program <prog@example.net>\r\nSubject: s\r\nTo: undisclosed-recipients:;\r\n",
			"b@example.org,c@example.org,d@example.org,hidden@example.org"},
	}
	idRE := regexp.MustCompile(`Message-Id: <[^@>]+@`)
	dateRE := regexp.MustCompile(`Date: [A-Z][a-z][a-z], \d\d [A-Z][a-z][a-z] \d{4} \d\d:\d\d:\d\d [-+]\d{4}`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.ExtractRecipients = true
			m, out := prepare(t, tc.in, opts)
			checkWire(t, []byte(out), false)
			got := string(headerSection([]byte(out)))
			got = idRE.ReplaceAllString(got, "Message-Id: <@ID@@")
			got = dateRE.ReplaceAllString(got, "Date: @DATE@")
			if got != tc.want {
				t.Errorf("header\n got %q\nwant %q", got, tc.want)
			}
			if !strings.HasSuffix(out, "\r\n\r\nbody\r\n") {
				t.Errorf("body changed: %q", out)
			}
			if tc.rcpts != "" {
				if env := m.Envelope(); strings.Join(env.To, ",") != tc.rcpts {
					t.Errorf("recipients %q, want %q", env.To, tc.rcpts)
				}
			}
		})
	}
}
