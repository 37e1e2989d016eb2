package pgqueue

import (
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/outbox"
)

// TestDecodeEnvelope: a row's envelope column (envelopeCol) is an
// envelope object, a size or a count standing for one over the bounds,
// or damage; each gives its own reason, and an object decodes.
func TestDecodeEnvelope(t *testing.T) {
	for _, c := range []struct {
		name, env string
		nilEnv    bool
		why       string // substring; "" means decoded
		to        int
	}{
		{name: "envelope", env: `{"from": "a@example.com", "to": ["b@example.com", "c@example.com"]}`, to: 2},
		{name: "missing message", nilEnv: true, why: "missing from the table"},
		{name: "size over the bound", env: `600000`, why: "its envelope is 600000 bytes"},
		{name: "size with spaces", env: " \n600000", why: "its envelope is 600000 bytes"},
		{name: "number under the bound", env: `12`, why: "not valid"},
		{name: "count over the bound", env: `[10001]`, why: "has 10001 recipients"},
		{name: "array not a count", env: `[1, 2]`, why: "not valid"},
		{name: "count under the bound", env: `[3]`, why: "not valid"},
		{name: "string", env: `"x"`, why: "not valid"},
		{name: "not JSON", env: `{"to": [`, why: "not valid"},
		{name: "empty", env: ``, why: "not valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var env []byte
			if !c.nilEnv {
				env = []byte(c.env)
			}
			e := outbox.Envelope{From: "stale@example.com"}
			why := decodeEnvelope(env, &e)
			if c.why == "" {
				if why != "" || len(e.To) != c.to || e.From != "a@example.com" {
					t.Fatalf("got %q, %+v; want decoded with %d recipients", why, e, c.to)
				}
				return
			}
			if !strings.Contains(why, c.why) {
				t.Fatalf("why %q, want it to contain %q", why, c.why)
			}
			if why != "" && strings.Contains(c.why, "not valid") && (e.From != "" || e.To != nil) {
				t.Errorf("a damaged envelope left %+v, want the zero envelope", e)
			}
		})
	}
}
