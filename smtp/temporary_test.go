package smtp

import "testing"

// A server that breaks the protocol mid-session (a garbled reply, bytes
// injected after STARTTLS) may well behave on the next attempt: a queue must
// retry such a message until it expires, not fail it as if the server had
// refused it with a 5xx.
func TestProtocolErrorsAreTemporary(t *testing.T) {
	tests := []struct {
		name   string
		script func(p *peer)
		cfg    *Config
		kind   Kind
	}{
		{"garbled reply to MAIL", func(p *peer) {
			p.send("220 hi\r\n")
			p.ehlo()
			p.expect("MAIL")
			p.send("2x0 what\r\n")
			p.line()
		}, &Config{Mode: None}, KindProtocol},
		{"bytes injected after STARTTLS", func(p *peer) {
			p.send("220 hi\r\n")
			p.ehlo("STARTTLS")
			p.expect("STARTTLS")
			p.send("220 go\r\n250 injected\r\n")
			p.line()
		}, &Config{TLS: tlsConfig()}, KindStartTLSInjection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := scripted(t, tt.script)
			c, err := dial(t, addr, tt.cfg)
			if err == nil {
				_, err = send(t, c)
			}
			if e := wantKind(t, err, tt.kind); !e.Temporary() {
				t.Errorf("Temporary() = false for %v", err)
			}
		})
	}
}
