package submit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/outbox"
)

// TestEnqueueBodyValue: the BODY value a caller gives (RFC 6152; ESMTP
// values are case-insensitive) is recorded in its canonical form, so that
// "8bitmime" is announced at delivery as BODY=8BITMIME; a value tlsmail
// cannot announce (BINARYMIME needs CHUNKING, RFC 3030) or a misspelt one
// is refused at Enqueue rather than taken for 7-bit content.
func TestEnqueueBodyValue(t *testing.T) {
	q, err := outbox.Open(filepath.Join(testdir.New(t), "q"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &Account{Host: "mx.example", Port: 587}
	for _, tc := range []struct{ given, want string }{
		{"8bitmime", "8BITMIME"},
		{"7bit", "7BIT"},
		{"8BITMIME", "8BITMIME"},
		{"BINARYMIME", ""},
		{"8BIT", ""},
	} {
		id, err := Enqueue(context.Background(), q, a, outbox.Envelope{From: "a@example.org", To: []string{"b@example.net"}, Body: tc.given},
			strings.NewReader("Subject: hi\r\n\r\ncaf\xc3\xa9\r\n"))
		if tc.want == "" {
			var e *Error
			if !errors.As(err, &e) || e.Field != "body" {
				t.Errorf("Body %q: Enqueue = %q, %v; want an *Error of field body", tc.given, id, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Body %q: %v", tc.given, err)
		}
		it, err := q.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		env, r, err := prepareItem(it)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := r.(interface{ Close() error }); ok {
			c.Close()
		}
		if it.Envelope.Body != tc.want || env.EightBit != (tc.want == "8BITMIME") {
			t.Errorf("Body %q: recorded %q, delivered with 8BITMIME %v; want %q", tc.given, it.Envelope.Body, env.EightBit, tc.want)
		}
	}
}
