package main

import (
	"errors"
	"testing"

	"github.com/tlsmail/tlsmail/smtp"
)

func TestSplitServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		mode       smtp.TLSMode
		host, port string
		bad        bool
	}{
		{"smtp.example.com", "", "smtp.example.com", "587", false},
		{"smtp.example.com", smtp.Implicit, "smtp.example.com", "465", false},
		{"smtp.example.com:25", "", "smtp.example.com", "25", false},
		{"192.0.2.1:465", "", "192.0.2.1", "465", false},
		{"192.0.2.1", "", "192.0.2.1", "587", false},
		{"2001:db8::1", "", "2001:db8::1", "587", false},
		{"[2001:db8::1]", smtp.Implicit, "2001:db8::1", "465", false},
		{"[2001:db8::1]:2525", "", "2001:db8::1", "2525", false},
		{"smtp.example.com:0", "", "", "", true},
		{"smtp.example.com:smtp", "", "", "", true},
		{":587", "", "", "", true},
		{"user@smtp.example.com", "", "", "", true},
		{"smtp://smtp.example.com", "", "", "", true},
		{"a b", "", "", "", true},
	}
	// send's --server and probe's argument take the same forms.
	parsers := []struct {
		name  string
		parse func(string, smtp.TLSMode) (string, string, error)
	}{{"splitServer", splitServer}, {"probeTarget", probeTarget}}
	for _, p := range parsers {
		for _, tc := range tests {
			host, port, err := p.parse(tc.in, tc.mode)
			var ce *cliError
			if tc.bad {
				if !errors.As(err, &ce) || ce.kind != kindUsage {
					t.Errorf("%s(%q) = %q, %q, %v; want a usage error", p.name, tc.in, host, port, err)
				}
				continue
			}
			if err != nil || host != tc.host || port != tc.port {
				t.Errorf("%s(%q, %q) = %q, %q, %v; want %q, %q", p.name, tc.in, tc.mode, host, port, err, tc.host, tc.port)
			}
		}
	}
}

func TestCheckPin(t *testing.T) {
	t.Parallel()
	for pin, ok := range map[string]bool{
		"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=": true,
		"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU":  false, // padding missing
		"sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=":   false,
		"sha256/AAAA":  false, // too short
		"":             false,
		"sha256/!!!!!": false,
	} {
		if err := checkPin(pin); (err == nil) != ok {
			t.Errorf("checkPin(%q) = %v, want ok=%v", pin, err, ok)
		}
	}
}
