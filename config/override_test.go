package config

import (
	"errors"
	"testing"
	"time"
)

func TestConfigOverride(t *testing.T) {
	a := NewAccount("cmdline")
	for _, kv := range [][2]string{{"host", "mail.example.com"}, {"port", "2525"}, {"tls", ""}, {"tls_starttls", "off"},
		{"auth", "plain"}, {"user", "ann"}, {"timeout", "30"}, {"tls_trust_file", "~/ca.pem"}, {"aliases", "~/aliases"}, {"keepbcc", "on"}, {"undisclosed_recipients", ""}, {"set_from_header", "on"}} {
		if err := a.Override(kv[0], kv[1], "/home/ann"); err != nil {
			t.Fatalf("%s %s: %v", kv[0], kv[1], err)
		}
	}
	if a.Host != "mail.example.com" || a.ServerPort() != 2525 || !a.TLS || a.StartTLS || a.Auth != "plain" || a.User != "ann" ||
		a.Timeout != 30*time.Second || a.TrustFile != "/home/ann/ca.pem" || a.Aliases != "/home/ann/aliases" ||
		a.RemoveBcc || !a.UndisclosedRecipients || a.SetFromHeader != "on" || !a.IsSet("port") || a.Check() != nil {
		t.Errorf("account %+v", a)
	}
	for _, kv := range [][2]string{{"port", "0"}, {"tls", "yes"}, {"proxy_host", "socks.example.com"}, {"protocol", "lmtp"}, {"bogus", ""}} {
		var ce *Error
		if err := a.Override(kv[0], kv[1], ""); !errors.As(err, &ce) || ce.Key != kv[0] || ce.Msg == "" {
			t.Errorf("%s %q: %v", kv[0], kv[1], err)
		}
	}
}
