package config

import (
	"context"
	"strings"
	"testing"
)

// TestPretend: msmtp's --pretend listing of an account: the password
// itself never appears (a "*" says there is one), unset values read
// "(not set)", switches on/off, the timeout in seconds.
func TestPretend(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-pretend"
	f, err := Parse(context.Background(), "test", strings.NewReader(
		"account default\nhost smtp.example.org\nport 465\ntls on\nauth on\nuser ann\npassword "+secret+"\ntimeout 30\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Account("default")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range a.Pretend() {
		if strings.Contains(s.Value, secret) {
			t.Errorf("%s lists the password", s.Key)
		}
		got[s.Key] = s.Value
	}
	for k, want := range map[string]string{"host": "smtp.example.org", "port": "465", "tls": "on", "auth": "on",
		"user": "ann", "password": "*", "timeout": "30", "passwordeval": "(not set)", "tls_certcheck": "on"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}
