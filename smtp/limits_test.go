package smtp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestEnvelopeLimits checks the size limits of RFC 5321 section 4.5.3.1 at
// and just past each boundary.
func TestEnvelopeLimits(t *testing.T) {
	local64 := strings.Repeat("l", 64)
	// A domain of 255 octets in labels of at most 63.
	domain255 := strings.Repeat(strings.Repeat("d", 62)+".", 4)[:251] + ".org"
	tests := []struct {
		name string
		env  Envelope
		what string // "" when the envelope is fine
	}{
		{"ordinary", Envelope{From: "a@example.org", To: []string{"b@example.org"}}, ""},
		{"null sender", Envelope{To: []string{"b@example.org"}}, ""},
		{"postmaster without domain", Envelope{From: "a@example.org", To: []string{"Postmaster"}}, ""},
		{"local part of 64", Envelope{From: local64 + "@example.org", To: []string{"b@example.org"}}, ""},
		{"local part of 65", Envelope{From: "a@example.org", To: []string{local64 + "x@example.org"}}, "local part"},
		{"path of 256", Envelope{From: "a@example.org", To: []string{"b@" + strings.Repeat("d", 252)}}, ""},
		{"domain of 255 is a path of 260", Envelope{From: "a@" + domain255, To: []string{"b@example.org"}}, "path"},
		{"path of 257", Envelope{From: "a@example.org", To: []string{"b@" + strings.Repeat("d", 253)}}, "path"},
		{"100,000 characters", Envelope{From: "a@example.org", To: []string{"b@example.org", strings.Repeat("x", 100000) + "@example.org"}}, "path"},
		{"long local part, short path", Envelope{From: strings.Repeat("l", 100) + "@x", To: []string{"b@example.org"}}, "local part"},
	}
	for _, tc := range tests {
		err := tc.env.Check()
		if tc.what == "" {
			if err != nil {
				t.Errorf("%s: Check() = %v, want nil", tc.name, err)
			}
			continue
		}
		e := wantKind(t, err, KindUsage)
		var le *LimitError
		if !errors.As(err, &le) || le.What != tc.what || le.Len <= le.Max {
			t.Errorf("%s: Check() = %v, want a *LimitError for the %s", tc.name, err, tc.what)
			continue
		}
		if len(e.Error()) > 400 {
			t.Errorf("%s: the error is %d characters long; the address must be shortened", tc.name, len(e.Error()))
		}
	}
}

// TestLongAddressNeverSent: Send refuses an over-long recipient before any
// command of the transaction goes out (the server would drop the
// connection, and a queued copy would be retried for days).
func TestLongAddressNeverSent(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		p.ehlo("PIPELINING")
		if l := p.line(); strings.HasPrefix(l, "MAIL") || strings.HasPrefix(l, "RCPT") {
			t.Errorf("client sent %.40q...", l)
		}
	})
	c, err := dial(t, addr, &Config{Mode: None})
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(t, c, "b@example.org", strings.Repeat("x", 100000)+"@example.org")
	wantKind(t, err, KindUsage)
	var le *LimitError
	if !errors.As(err, &le) {
		t.Errorf("err = %v, want a *LimitError", err)
	}
	c.Close()
}

// TestLongEHLONameRefused: an EHLO name longer than a domain may be is a
// configuration error, and never sent.
func TestLongEHLONameRefused(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		p.send("220 hi\r\n")
		if l := p.line(); strings.HasPrefix(l, "EHLO") {
			t.Errorf("client sent %.40q...", l)
		}
	})
	_, err := dial(t, addr, &Config{Mode: None, LocalName: strings.Repeat("h", 256)})
	wantKind(t, err, KindConfig)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "domain" {
		t.Errorf("err = %v, want a *LimitError for the domain", err)
	}
}

// TestBadEHLONameRefused: an EHLO name holding a control character (NUL,
// ESC, DEL...) or a space is a configuration error, and never sent: RFC
// 5321 section 4.1.1.1 wants a domain or an address literal there, and a
// server that logs it raw would show the escape sequence.
func TestBadEHLONameRefused(t *testing.T) {
	for _, name := range []string{"a\x00b", "host\x1b[2J", "a\x7fb", "a b", "a\tb", "a\r\nMAIL FROM:<x>", "a\x01b"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				p.send("220 hi\r\n")
				if l := p.line(); strings.HasPrefix(l, "EHLO") {
					t.Errorf("client sent %q", l)
				}
			})
			_, err := dial(t, addr, &Config{Mode: None, LocalName: name})
			e := wantKind(t, err, KindConfig)
			if e.Op != "EHLO" {
				t.Errorf("op %q, want EHLO", e.Op)
			}
		})
	}
}
