package message

import (
	"bytes"
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
		{"an empty From field is none: auto replaces it", "From: \t\nTo: b@example.org\nSubject: s\n\nbody\n", PrepareOptions{From: "acct@example.com", DateField: FieldNever, MessageIDField: FieldNever},
			"To: b@example.org\r\nSubject: s\r\nFrom: acct@example.com\r\n", ""},
		{"an empty folded From field is none too", "From:\n \nTo: b@example.org\nSubject: s\n\nbody\n", PrepareOptions{From: "acct@example.com", DateField: FieldNever, MessageIDField: FieldNever},
			"To: b@example.org\r\nSubject: s\r\nFrom: acct@example.com\r\n", ""},
		{"set_from_header off keeps an empty From field", "From:\nTo: b@example.org\nSubject: s\n\nbody\n", PrepareOptions{From: "acct@example.com", FromField: FieldNever, DateField: FieldNever, MessageIDField: FieldNever},
			"From:\r\nTo: b@example.org\r\nSubject: s\r\n", ""},
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

// FuzzPreparePolicies: whatever the message, msmtp's header commands only
// change the header as documented. With any FromField, DateField,
// MessageIDField, KeepBcc and Undisclosed, Prepare succeeds exactly when
// it does with the defaults, and then:
//
//   - the envelope (sender and recipients) is the defaults' envelope;
//   - the body is the defaults' body;
//   - every field of the input the policies do not concern is kept, in order;
//   - Undisclosed leaves no Cc or Bcc and one To, "undisclosed-recipients:;";
//   - without KeepBcc (or with Undisclosed) no Bcc is left, with KeepBcc
//     and without Undisclosed every Bcc of the input is kept;
//   - FromField Always leaves one From, the given sender's; Never adds none;
//   - DateField and MessageIDField Never add none, Always leave exactly one.
func FuzzPreparePolicies(f *testing.F) {
	f.Add([]byte("From: Program <prog@example.net>\nTo: b@example.org\nCc: c@example.org\nBcc: hidden@example.org\nSubject: s\n\nbody\n"), uint8(0x55), true)
	f.Add([]byte("To: b@example.org\nDate: x\nMessage-ID: <1@a>\nResent-Bcc: r@example.org\n\nbody\n"), uint8(0xff), false)
	f.Add([]byte("BCC :\r\n\thidden@example.org\r\nTO: b@example.org\r\nfrom: a@example.com\r\n\r\n"), uint8(0x2a), true)
	f.Fuzz(func(t *testing.T, data []byte, bits uint8, extract bool) {
		pol := func(b uint8) FieldPolicy { return FieldPolicy(b % 3) }
		opts := PrepareOptions{From: "sender@example.com", ExtractRecipients: extract, MaxHeaderBytes: fuzzMaxHeader,
			FromField: pol(bits), DateField: pol(bits >> 2), MessageIDField: pol(bits >> 4),
			KeepBcc: bits&0x40 != 0, Undisclosed: bits&0x80 != 0}
		if !extract {
			opts.Recipients = []string{"r@example.org"}
		}
		base := opts
		base.FromField, base.DateField, base.MessageIDField, base.KeepBcc, base.Undisclosed = FieldAuto, FieldAuto, FieldAuto, false, false
		write := func(o PrepareOptions) (*Message, []byte, error) {
			m, err := Prepare(bytes.NewReader(data), o)
			if err != nil {
				return nil, nil, err
			}
			var out bytes.Buffer
			if _, err := m.WriteTo(&out); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			return m, out.Bytes(), nil
		}
		bm, bout, berr := write(base)
		m, out, err := write(opts)
		if (err == nil) != (berr == nil) {
			t.Fatalf("with the policies: %v; with the defaults: %v", err, berr)
		}
		if err != nil {
			return
		}
		if env, benv := m.Envelope(), bm.Envelope(); env.From != benv.From || strings.Join(env.To, ",") != strings.Join(benv.To, ",") {
			t.Fatalf("envelope %+v, with the defaults %+v", env, benv)
		}
		split := func(b []byte) (head, body []byte) {
			if rest, ok := bytes.CutPrefix(b, []byte("\r\n")); ok {
				return nil, rest // no header field at all (every policy off)
			}
			head, body, _ = bytes.Cut(b, []byte("\r\n\r\n"))
			return head, body
		}
		head, body := split(out)
		_, bbody := split(bout)
		if !bytes.Equal(body, bbody) {
			t.Fatalf("body %q, with the defaults %q", body, bbody)
		}
		count := map[string]int{}
		var outFields [][]byte
		for _, fl := range refFields(append(head, '\r', '\n')) {
			count[refFieldName(fl)]++
			outFields = append(outFields, fl)
		}
		concerned := map[string]bool{"from": true, "date": true, "message-id": true, "to": true, "cc": true, "bcc": true, "resent-bcc": true}
		inFields, _, _ := refSplitMessage(data)
		i := 0
		for _, fl := range inFields {
			if concerned[refFieldName(fl)] {
				continue
			}
			for i < len(outFields) && !bytes.Equal(outFields[i], fl) {
				i++
			}
			if i == len(outFields) {
				t.Fatalf("field %q lost or out of order:\n%s", fl, out)
			}
			i++
		}
		inCount := map[string]int{}
		for _, fl := range inFields {
			inCount[refFieldName(fl)]++
		}
		switch {
		case opts.Undisclosed:
			if count["cc"]+count["bcc"] != 0 || count["to"] != 1 || !bytes.Contains(head, []byte("\r\nTo: undisclosed-recipients:;")) && !bytes.HasPrefix(head, []byte("To: undisclosed-recipients:;")) {
				t.Fatalf("undisclosed: %q", head)
			}
		case !opts.KeepBcc:
			if count["bcc"]+count["resent-bcc"] != 0 {
				t.Fatalf("Bcc left: %q", head)
			}
		default:
			if count["bcc"] != inCount["bcc"] || count["resent-bcc"] != inCount["resent-bcc"] {
				t.Fatalf("Bcc not kept: %q", head)
			}
		}
		switch opts.FromField {
		case FieldAlways:
			if count["from"] != 1 || !bytes.Contains(append([]byte("\r\n"), head...), []byte("\r\nFrom: sender@example.com\r\n")) && !bytes.HasSuffix(head, []byte("From: sender@example.com")) {
				t.Fatalf("From always: %q", head)
			}
		case FieldNever:
			if count["from"] != inCount["from"] {
				t.Fatalf("From never: %d in, %d out", inCount["from"], count["from"])
			}
		}
		for _, p := range []struct {
			name string
			pol  FieldPolicy
		}{{"date", opts.DateField}, {"message-id", opts.MessageIDField}} {
			switch {
			case p.pol == FieldNever && count[p.name] != inCount[p.name]:
				t.Fatalf("%s never: %d in, %d out", p.name, inCount[p.name], count[p.name])
			case p.pol == FieldAlways && count[p.name] != 1:
				t.Fatalf("%s always: %d out", p.name, count[p.name])
			}
		}
	})
}
