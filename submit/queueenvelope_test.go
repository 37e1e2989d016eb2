package submit_test

import (
	"reflect"
	"testing"

	"github.com/tlsmail/tlsmail/message"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

// TestQueueEnvelope: the outbox envelope records the needs the SMTP
// envelope declares, so that Enqueue does not scan again, and a composed
// message's needs survive the trip (EnvelopeOf, then QueueEnvelope).
func TestQueueEnvelope(t *testing.T) {
	t.Parallel()
	dsn := smtp.DSN{Notify: "FAILURE", Return: "HDRS"}
	tests := []struct {
		name string
		env  smtp.Envelope
		want outbox.Envelope
	}{
		{"7bit", smtp.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
			outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}, Body: "7BIT"}},
		{"8bit", smtp.Envelope{From: "a@example.org", To: []string{"b@example.org"}, EightBit: true},
			outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}, Body: "8BITMIME"}},
		{"utf8 and dsn", smtp.Envelope{From: "ä@example.org", To: []string{"b@example.org"}, UTF8: true, DSN: dsn},
			outbox.Envelope{From: "ä@example.org", To: []string{"b@example.org"}, Body: "7BIT", SMTPUTF8: true, DSNNotify: "FAILURE", DSNReturn: "HDRS"}},
		{"utf8 header", smtp.Envelope{From: "a@example.org", To: []string{"b@example.org"}, HeaderUTF8: true, EightBit: true},
			outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}, Body: "8BITMIME", HeaderUTF8: true}},
	}
	for _, tc := range tests {
		if got := submit.QueueEnvelope(tc.env); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: QueueEnvelope = %+v; want %+v", tc.name, got, tc.want)
		}
	}
	m, err := message.Compose(message.Spec{From: "a@example.org", To: []string{"b@example.org"}, Subject: "Grüße", Text: "Grüße\n"})
	if err != nil {
		t.Fatal(err)
	}
	q := submit.QueueEnvelope(submit.EnvelopeOf(m))
	req := m.Requirements()
	if (q.Body == "8BITMIME") != req.EightBitMIME || q.SMTPUTF8 != req.SMTPUTF8 || q.HeaderUTF8 != req.HeaderUTF8 ||
		q.From != "a@example.org" || len(q.To) != 1 {
		t.Errorf("a composed message's queue envelope = %+v", q)
	}
}
