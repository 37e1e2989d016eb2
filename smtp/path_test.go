package smtp

import "testing"

func TestWirePath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"a.b+tag@example.com", "a.b+tag@example.com"},
		{"Postmaster", "Postmaster"},
		{"jörg@example.com", "jörg@example.com"},
		{"x y@example.com", `"x y"@example.com`},
		{`b"c d@example.org`, `"b\"c d"@example.org`},
		{`back\slash@example.org`, `"back\\slash"@example.org`},
		{"a..b@example.org", `"a..b"@example.org`},
		{".a@example.org", `".a"@example.org`},
		{`"x y"@example.com`, `"x y"@example.com`},
		{"x@y@example.com", `"x@y"@example.com`},
	} {
		if got := wirePath(tt.in); got != tt.want {
			t.Errorf("wirePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
