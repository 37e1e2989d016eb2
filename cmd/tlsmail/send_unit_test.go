package main

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

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

// has8Bit decides BODY=8BITMIME before MAIL FROM for a --message file: a
// byte above 127 anywhere, in any read, counts; none means 7-bit.
func TestHas8Bit(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 31, 32, 33, 256<<10 - 1, 256 << 10, 256<<10 + 1, 600 << 10} {
		plain := bytes.Repeat([]byte("a"), size)
		readers := func(b []byte) map[string]io.Reader {
			rs := map[string]io.Reader{"whole": bytes.NewReader(b)}
			if size < 4096 {
				rs["byte by byte"] = iotest.OneByteReader(bytes.NewReader(b))
			}
			return rs
		}
		for name, r := range readers(plain) {
			if got, err := has8Bit(r, scan8BitLimit); got || err != nil {
				t.Errorf("%d ASCII bytes, %s: has8Bit = %v, %v; want false", size, name, got, err)
			}
		}
		for _, at := range []int{0, size / 2, size - 1} {
			m := bytes.Clone(plain)
			m[at] = 0xC3
			for name, r := range readers(m) {
				if got, err := has8Bit(r, scan8BitLimit); !got || err != nil {
					t.Errorf("%d bytes with 0xC3 at %d, %s: has8Bit = %v, %v; want true", size, at, name, got, err)
				}
			}
		}
	}
	if got, err := has8Bit(bytes.NewReader(nil), scan8BitLimit); got || err != nil {
		t.Errorf("empty: has8Bit = %v, %v; want false", got, err)
	}
	if _, err := has8Bit(iotest.ErrReader(io.ErrUnexpectedEOF), scan8BitLimit); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a failing reader: err = %v, want it passed on", err)
	}
}
