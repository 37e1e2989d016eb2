package smtp

import "testing"

// TestTLSModeName: each mode as people call it, and the default mode of
// a port (RFC 8314 section 3.3: 465 is implicit TLS).
func TestTLSModeName(t *testing.T) {
	t.Parallel()
	for m, want := range map[TLSMode]string{Implicit: "implicit TLS", StartTLS: "STARTTLS", None: "no TLS", "dane": "dane"} {
		if got := m.Name(); got != want {
			t.Errorf("%q.Name() = %q, want %q", m, got, want)
		}
	}
	for port, want := range map[string]TLSMode{"465": Implicit, "smtps": Implicit, "587": StartTLS, "25": StartTLS} {
		if got := DefaultMode(port); got != want {
			t.Errorf("DefaultMode(%s) = %s, want %s", port, got, want)
		}
	}
}
