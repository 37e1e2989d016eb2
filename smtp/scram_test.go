package smtp

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// SCRAM (RFC 5802 section 3) authenticates the server too: its final
// message proves it knows the password-derived key. A server that answers
// 235 without that proof has not authenticated itself, and the client must
// not carry on as if it had.
func TestSCRAMServerMustProveItself(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH SCRAM-SHA-256")
		l := p.expect("AUTH SCRAM-SHA-256 ")
		first, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "AUTH SCRAM-SHA-256 "))
		_, nonce, _ := strings.Cut(string(first), ",r=")
		salt := base64.StdEncoding.EncodeToString([]byte("saltsaltsalt"))
		p.send("334 " + base64.StdEncoding.EncodeToString([]byte("r="+nonce+"srv,s="+salt+",i=4096")) + "\r\n")
		p.line()                        // client-final with its proof
		p.send("235 2.7.0 welcome\r\n") // no server-final: no proof
		p.line()
	})
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Mechanism: "SCRAM-SHA-256", Username: "user", Password: "secret"}})
	wantKind(t, err, KindAuth)
}

// A real SCRAM-SHA-256 exchange (the server side from xdg-go/scram): the
// client proves the password, the server proves it knows the derived key.
func TestSCRAMExchange(t *testing.T) {
	client, err := scram.SHA256.NewClient("user", "secret", "")
	if err != nil {
		t.Fatal(err)
	}
	creds := client.GetStoredCredentials(scram.KeyFactors{Salt: "saltsaltsalt", Iters: 4096})
	srv, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		t.Fatal(err)
	}
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH PLAIN SCRAM-SHA-256")
		conv := srv.NewConversation()
		step := func(line string) (string, bool) {
			in, _ := base64.StdEncoding.DecodeString(line)
			out, err := conv.Step(string(in))
			if err != nil {
				p.send("535 5.7.8 authentication failed\r\n")
				return "", false
			}
			return base64.StdEncoding.EncodeToString([]byte(out)), true
		}
		serverFirst, ok := step(strings.TrimPrefix(p.expect("AUTH SCRAM-SHA-256 "), "AUTH SCRAM-SHA-256 "))
		if !ok {
			return
		}
		p.send("334 " + serverFirst + "\r\n")
		serverFinal, ok := step(p.line()) // checks the client's proof
		if !ok {
			return
		}
		p.send("334 " + serverFinal + "\r\n")
		if l := p.line(); l != "" || !conv.Valid() {
			p.t.Errorf("after server-final the client sent %q (valid %v)", l, conv.Valid())
			p.send("535 5.7.8 authentication failed\r\n")
			return
		}
		p.send("235 2.7.0 ok\r\n")
		p.envelope()
	})
	c, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Username: "user", Password: "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMechanism() != "SCRAM-SHA-256" {
		t.Errorf("mechanism = %q, want SCRAM-SHA-256 (strongest offered)", c.AuthMechanism())
	}
	if _, err := send(t, c); err != nil {
		t.Fatal(err)
	}
}
