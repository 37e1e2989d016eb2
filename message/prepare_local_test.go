package message

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestPrepareLocalRecipients: with ExpandRecipient, local names from the
// command line (cron's "root") and from To/Cc (logwatch's -t with
// "To: root") reach the callback, its addresses form the envelope, and the
// header is left as written. Without it a local name is refused as before.
func TestPrepareLocalRecipients(t *testing.T) {
	aliases := map[string][]string{"root": {"admin@example.com", "ops@example.com"}}
	expand := func(addr string) ([]string, error) {
		if strings.Contains(addr, "@") {
			return []string{addr}, nil
		}
		if a, ok := aliases[addr]; ok {
			return a, nil
		}
		return []string{addr}, nil
	}
	tests := []struct {
		name string
		in   string
		opts PrepareOptions
		want []string
	}{
		{"cron argument", "Subject: cron\n\nout\n", PrepareOptions{From: "cron@example.com", Recipients: []string{"root"}},
			[]string{"admin@example.com", "ops@example.com"}},
		{"-t with To: root", "From: a@example.com\nTo: root\nCc: Bob <bob@example.org>, postmaster\n\nlog\n", PrepareOptions{ExtractRecipients: true},
			[]string{"admin@example.com", "ops@example.com", "bob@example.org", "postmaster"}},
		{"display name around a local name", "From: a@example.com\nTo: System Administrator <root>\n\n", PrepareOptions{ExtractRecipients: true},
			[]string{"admin@example.com", "ops@example.com"}},
		{"duplicates once", "From: a@example.com\nTo: root, admin@example.com\n\n", PrepareOptions{ExtractRecipients: true, Recipients: []string{"root"}},
			[]string{"admin@example.com", "ops@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.ExpandRecipient = expand
			m, err := Prepare(strings.NewReader(tc.in), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Envelope().To; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("envelope %q, want %q", got, tc.want)
			}
			var b bytes.Buffer
			if _, err := m.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tc.in, "To: ") && !bytes.Contains(b.Bytes(), []byte("To: "+strings.SplitN(strings.SplitN(tc.in, "To: ", 2)[1], "\n", 2)[0]+"\r\n")) {
				t.Errorf("the To field was changed:\n%s", b.Bytes())
			}
		})
	}

	// Without the callback, local names stay refused.
	if _, err := Prepare(strings.NewReader("Subject: x\n\n"), PrepareOptions{From: "a@example.com", Recipients: []string{"root"}}); !errors.As(err, new(*InputError)) {
		t.Errorf("local name without ExpandRecipient: %v", err)
	}
	// Garbage stays garbage with it.
	for _, in := range []string{"From: a@example.com\nTo: not an address\n\n", "From: a@example.com\nTo: <>\n\n"} {
		if _, err := Prepare(strings.NewReader(in), PrepareOptions{ExtractRecipients: true, ExpandRecipient: expand}); !errors.As(err, new(*InputError)) {
			t.Errorf("%q: %v", in, err)
		}
	}
	// The callback's error is returned as is.
	boom := errors.New("alias loop")
	_, err := Prepare(strings.NewReader("Subject: x\n\n"), PrepareOptions{From: "a@example.com", Recipients: []string{"root"},
		ExpandRecipient: func(string) ([]string, error) { return nil, boom }})
	if !errors.Is(err, boom) {
		t.Errorf("callback error: %v", err)
	}
}
