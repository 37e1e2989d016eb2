package smtp

import (
	"testing"
)

// TestQuitAfterRefusedStep: when the server refuses a step of the session
// setup with a reply, the client still says QUIT before it closes (a
// server logs "lost connection after AUTH" otherwise), except after 421
// (the server closes) and when the session is out of step.
func TestQuitAfterRefusedStep(t *testing.T) {
	tests := []struct {
		name     string
		script   func(p *peer)
		cfg      func() *Config
		kind     Kind
		wantQuit bool
	}{
		{"AUTH refused with 535", func(p *peer) {
			p.tlsServer(pki().Server.TLSCertificate())
			p.send("220 hi\r\n")
			p.ehlo("AUTH PLAIN")
			p.expect("AUTH PLAIN ")
			p.send("535 5.7.8 Authentication credentials invalid\r\n")
		}, authConfig, KindAuth, true},
		{"AUTH refused with 454", func(p *peer) {
			p.tlsServer(pki().Server.TLSCertificate())
			p.send("220 hi\r\n")
			p.ehlo("AUTH PLAIN")
			p.expect("AUTH PLAIN ")
			p.send("454 4.7.0 Temporary authentication failure\r\n")
		}, authConfig, KindAuth, true},
		{"greeting 554", func(p *peer) {
			p.send("554 5.7.1 no service for you\r\n")
		}, plainConfig, KindUnavailable, true},
		{"EHLO refused", func(p *peer) {
			p.send("220 hi\r\n")
			p.expect("EHLO")
			p.send("550 5.7.1 go away\r\n")
		}, plainConfig, KindUnavailable, true},
		{"STARTTLS refused", func(p *peer) {
			p.send("220 hi\r\n")
			p.ehlo("STARTTLS")
			p.expect("STARTTLS")
			p.send("454 4.7.0 TLS not available\r\n")
		}, func() *Config { return &Config{Mode: StartTLS, TLS: tlsConfig()} }, KindStartTLSUnavailable, true},
		{"AUTH answered with 421", func(p *peer) {
			p.tlsServer(pki().Server.TLSCertificate())
			p.send("220 hi\r\n")
			p.ehlo("AUTH PLAIN")
			p.expect("AUTH PLAIN ")
			p.send("421 4.3.2 shutting down\r\n")
		}, authConfig, KindAuth, false},
		{"AUTH challenge undecodable", func(p *peer) {
			p.tlsServer(pki().Server.TLSCertificate())
			p.send("220 hi\r\n")
			p.ehlo("AUTH LOGIN")
			p.expect("AUTH LOGIN")
			p.send("334 !!!not base64\r\n")
		}, func() *Config {
			c := authConfig()
			c.Auth.Mechanism = "LOGIN"
			return c
		}, KindProtocol, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			addr := scripted(t, func(p *peer) {
				tc.script(p)
				l := p.line()
				if l == "QUIT" {
					p.send("221 2.0.0 bye\r\n")
				}
				got <- l
			})
			_, err := dial(t, addr, tc.cfg())
			wantKind(t, err, tc.kind)
			l := <-got
			if quit := l == "QUIT"; quit != tc.wantQuit {
				t.Errorf("after the refusal the server read %q; want QUIT: %v", l, tc.wantQuit)
			}
		})
	}
}

func authConfig() *Config {
	return &Config{Mode: Implicit, TLS: tlsConfig(), Auth: &Auth{Mechanism: "PLAIN", Username: "user", Password: "hunter2"}}
}

func plainConfig() *Config { return &Config{Mode: None} }
