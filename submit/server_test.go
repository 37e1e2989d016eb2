package submit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
)

func TestParseServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		mode smtp.TLSMode
		host string
		port int
		why  string // part of the error's Msg; "" for none
	}{
		{"smtp.example.com", "", "smtp.example.com", 587, ""},
		{"smtp.example.com", smtp.Implicit, "smtp.example.com", 465, ""},
		{"smtp.example.com:25", smtp.Implicit, "smtp.example.com", 25, ""},
		{"192.0.2.1", "", "192.0.2.1", 587, ""},
		{"2001:db8::1", "", "2001:db8::1", 587, ""},
		{"[2001:db8::1]", smtp.Implicit, "2001:db8::1", 465, ""},
		{"[2001:db8::1]:2525", "", "2001:db8::1", 2525, ""},
		{"smtp.example.com:0", "", "", 0, "from 1 to 65535"},
		{"smtp.example.com:65536", "", "", 0, "from 1 to 65535"},
		{"smtp.example.com:smtp", "", "", 0, "from 1 to 65535"},
		{":587", "", "", 0, "the host is empty"},
		{"[]", "", "", 0, "the host is empty"},
		{"user@smtp.example.com", "", "", 0, "not a host name"},
		{"smtp://smtp.example.com", "", "", 0, "not a host name"},
		{"a b", "", "", 0, "not a host name"},
		{"a:b:c", "", "", 0, "too many colons"},
	}
	for _, tc := range tests {
		host, port, err := submit.ParseServer(tc.in, tc.mode)
		if tc.why != "" {
			var se *submit.Error
			if !errors.As(err, &se) || se.Field != "server" || !strings.Contains(se.Msg, tc.why) || se.Fix == "" {
				t.Errorf("ParseServer(%q) = %q, %d, %v; want a server error saying %q", tc.in, host, port, err, tc.why)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("ParseServer(%q, %q) = %q, %d, %v; want %q, %d", tc.in, tc.mode, host, port, err, tc.host, tc.port)
		}
	}
}
