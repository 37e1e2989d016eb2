package message

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestComposeExpandRecipient: with Spec.ExpandRecipient (an msmtp aliases
// file), a local name in To, Cc or Bcc becomes its addresses in the header
// and in the envelope, as the command line's send did by hand before
// composing (a library user composing for such an account had to copy
// it); an entry with '@', ',' or '<' is kept as written, and the
// expander's error comes back as is. Without it a local name is refused.
func TestComposeExpandRecipient(t *testing.T) {
	aliases := map[string][]string{
		"root": {"admin@example.com"},
		"ops":  {"o1@example.com", "o2@example.com"},
	}
	errLoop := errors.New("aliases: a loop")
	expand := func(name string) ([]string, error) {
		if name == "loop" {
			return nil, errLoop
		}
		if to, ok := aliases[name]; ok {
			return to, nil
		}
		return []string{name}, nil
	}
	m, raw := compose(t, Spec{From: "ann@example.com", To: []string{" root ", "bob@example.org"}, Cc: []string{"ops"},
		Bcc: []string{"Carl <carl@example.net>"}, Subject: "s", Text: "b", Date: testDate, MessageID: "<x@example.com>",
		ExpandRecipient: expand})
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.Contains(head, "To: admin@example.com, bob@example.org\r\n") || !strings.Contains(head, "Cc: o1@example.com, o2@example.com\r\n") ||
		strings.Contains(head, "root") || strings.Contains(head, "ops") {
		t.Errorf("header does not hold the aliases' addresses:\n%s", head)
	}
	want := []string{"admin@example.com", "bob@example.org", "o1@example.com", "o2@example.com", "carl@example.net"}
	if got := m.Envelope().To; !slices.Equal(got, want) {
		t.Errorf("envelope recipients %q, want %q", got, want)
	}

	if _, err := Compose(Spec{From: "ann@example.com", To: []string{"loop"}, ExpandRecipient: expand}); !errors.Is(err, errLoop) {
		t.Errorf("expander error: Compose = %v, want %v", err, errLoop)
	}
	var ie *InputError
	if _, err := Compose(Spec{From: "ann@example.com", To: []string{"root"}}); !errors.As(err, &ie) {
		t.Errorf("local name without an expander: Compose = %v, want an *InputError", err)
	}
}
