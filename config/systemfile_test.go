package config

import "testing"

// TestSystemFile: $TLSMAIL_SYSTEM_CONFIG when set, else msmtp's system
// file; a nil getenv reads no environment.
func TestSystemFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		want   string
	}{
		{"set", func(k string) string {
			if k == "TLSMAIL_SYSTEM_CONFIG" {
				return "/srv/msmtprc"
			}
			return ""
		}, "/srv/msmtprc"},
		{"unset", func(string) string { return "" }, DefaultSystemFile()},
		{"no environment", nil, DefaultSystemFile()},
	} {
		if got := SystemFile(tc.getenv); got != tc.want {
			t.Errorf("%s: SystemFile = %q, want %q", tc.name, got, tc.want)
		}
	}
}
