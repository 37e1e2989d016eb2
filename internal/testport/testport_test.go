package testport

import (
	"net"
	"testing"
)

// TestFree: the port is outside the ephemeral range, and a listener can
// bind it.
func TestFree(t *testing.T) {
	for range 20 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if p < low || p >= high {
			t.Fatalf("port %d outside %d-%d", p, low, high-1)
		}
	}
	a, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", a)
	if err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	l.Close()
}
