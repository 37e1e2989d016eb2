package smtp

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/saslprep"
	"github.com/xdg-go/scram"
	"github.com/xdg-go/stringprep"
)

// SCRAM (RFC 5802 section 3) authenticates the server too: its final
// message proves it knows the password-derived key. A server that answers
// 235 without that proof has not authenticated itself, and the client must
// not carry on as if it had.
func TestSCRAMServerMustProveItself(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !scramUpToClientFinal(p) {
			return
		}
		p.send("235 2.7.0 welcome\r\n") // no server-final: no proof
		p.line()
	})
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Mechanism: "SCRAM-SHA-256", Username: "user", Password: "secret"}})
	wantKind(t, err, KindAuth)
}

// A real SCRAM-SHA-256 exchange (the server side from xdg-go/scram, an
// independent implementation): the client proves the password, the server
// proves it knows the derived key. Usernames needing escapes and passwords
// SASLprep changes must give the same keys on both sides.
func TestSCRAMExchange(t *testing.T) {
	tests := []struct{ name, user, pass string }{
		{"ascii", "user", "secret"},
		{"escaped username", "us,er=1", "secret"},
		{"SASLprep password", "user", "p\u00e4ss\u00a0w\u00adord\u2168"},
		{"SASLprep username", "\u00fcser\u00aa", "pencil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { scramExchange(t, tt.user, tt.pass) })
	}
}

func scramExchange(t *testing.T, user, pass string) {
	client, err := scram.SHA256.NewClient(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	creds := client.GetStoredCredentials(scram.KeyFactors{Salt: "saltsaltsalt", Iters: 4096})
	var gotUser string
	srv, err := scram.SHA256.NewServer(func(u string) (scram.StoredCredentials, error) { gotUser = u; return creds, nil })
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
				p.t.Errorf("server: %v", err)
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
		Auth: &Auth{Username: user, Password: pass}})
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMechanism() != "SCRAM-SHA-256" {
		t.Errorf("mechanism = %q, want SCRAM-SHA-256 (strongest offered)", c.AuthMechanism())
	}
	if _, err := send(t, c); err != nil {
		t.Fatal(err)
	}
	if want, _ := stringprep.SASLprep.Prepare(user); gotUser != want {
		t.Errorf("the server saw username %q, want %q", gotUser, want)
	}
}

// fixedNonce makes the client nonce a known string, for test vectors.
func fixedNonce(n string) func() (string, error) {
	return func() (string, error) { return n, nil }
}

// scramAt returns a client that has sent its first message with nonce.
func scramAt(t *testing.T, user, pass, nonce string) (*scramClient, string) {
	t.Helper()
	c, err := newSCRAMClient(user, pass)
	if err != nil {
		t.Fatal(err)
	}
	c.nonce = fixedNonce(nonce)
	mech, first, err := c.Start()
	if err != nil || mech != "SCRAM-SHA-256" {
		t.Fatalf("Start = %q, %q, %v", mech, first, err)
	}
	return c, string(first)
}

// The test vector of RFC 7677 section 3, byte for byte.
func TestSCRAMRFC7677Vector(t *testing.T) {
	c, first := scramAt(t, "user", "pencil", "rOprNGfwEbeRWgbNEkqO")
	if want := "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"; first != want {
		t.Errorf("client-first = %q, want %q", first, want)
	}
	final, err := c.Next([]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="; string(final) != want {
		t.Errorf("client-final = %q, want %q", final, want)
	}
	if c.verified() {
		t.Error("verified before the server's final message")
	}
	resp, err := c.Next([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("server-final: response %q (nil %v), %v; want an empty response", resp, resp == nil, err)
	}
	if !c.verified() {
		t.Error("the server's valid signature did not verify")
	}
	if _, err := c.Next([]byte("v=more")); err == nil {
		t.Error("a challenge after the server's final message was answered")
	}
}

const (
	vecNonce = "rOprNGfwEbeRWgbNEkqO"
	vecFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)

// The server's final message: only the right signature verifies, and an
// e= is the server's error.
func TestSCRAMServerFinal(t *testing.T) {
	tests := []struct {
		name, final string
		ok          bool
		want        string // in the error
	}{
		{"RFC 7677 signature", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", true, ""},
		{"signature with extension", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=1", true, ""},
		{"wrong signature", "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", false, "proof did not verify"},
		{"short signature", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", false, "proof did not verify"},
		{"signature not base64", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", false, "proof did not verify"},
		{"empty signature", "v=", false, "proof did not verify"},
		{"invalid proof", "e=invalid-proof", false, `"invalid-proof" / check the username and password`},
		{"unknown user", "e=unknown-user", false, `"unknown-user" / check the username and password`},
		{"other error", "e=other-error", false, `"other-error" / check the server`},
		{"error with control characters", "e=\x1b[31mred", false, `"\x1b[31mred"`},
		{"no verifier", "x=1", false, "no verifier"},
		{"empty", "", false, "no verifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := scramAt(t, "user", "pencil", vecNonce)
			if _, err := c.Next([]byte(vecFirst)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Next([]byte(tt.final))
			if (err == nil) != tt.ok || c.verified() != tt.ok {
				t.Fatalf("server-final %q: error %v, verified %v; want ok=%v", tt.final, err, c.verified(), tt.ok)
			}
			if err == nil {
				return
			}
			// want is "in the error" or "in the error / in the fix".
			msg, fix, _ := strings.Cut(tt.want, " / ")
			if !strings.Contains(err.Error(), msg) || !strings.Contains(saslFix(err), fix) {
				t.Errorf("error %q, fix %q; want %q", err, saslFix(err), tt.want)
			}
		})
	}
}

// A hostile or broken server-first-message is refused before any key is
// derived: no client-final is produced.
func TestSCRAMHostileServerFirst(t *testing.T) {
	const salt = "W22ZaJ0SNY7soEsUEjb6gQ=="
	tests := []struct{ name, first, want string }{
		{"nonce not ours", "r=XOprNGfwEbeRWgbNEkqOabc,s=" + salt + ",i=4096", "does not extend"},
		{"nonce only ours", "r=" + vecNonce + ",s=" + salt + ",i=4096", "does not extend"},
		{"nonce prefix of ours", "r=rOprNG,s=" + salt + ",i=4096", "does not extend"},
		{"nonce not printable", "r=" + vecNonce + "ab\x7f,s=" + salt + ",i=4096", "not printable"},
		{"nonce with space", "r=" + vecNonce + "a b,s=" + salt + ",i=4096", "not printable"},
		{"i=0", "r=" + vecNonce + "x,s=" + salt + ",i=0", "not a positive integer"},
		{"i negative", "r=" + vecNonce + "x,s=" + salt + ",i=-4096", "not a positive integer"},
		{"i with plus", "r=" + vecNonce + "x,s=" + salt + ",i=+4096", "not a positive integer"},
		{"i leading zero", "r=" + vecNonce + "x,s=" + salt + ",i=04096", "not a positive integer"},
		{"i not a number", "r=" + vecNonce + "x,s=" + salt + ",i=lots", "not a positive integer"},
		{"i empty", "r=" + vecNonce + "x,s=" + salt + ",i=", "not a positive integer"},
		{"i below 4096", "r=" + vecNonce + "x,s=" + salt + ",i=4095", "fewer than the 4096"},
		{"i=1", "r=" + vecNonce + "x,s=" + salt + ",i=1", "fewer than the 4096"},
		{"i above bound", "r=" + vecNonce + "x,s=" + salt + ",i=1000001", "more than the 1000000"},
		{"i huge", "r=" + vecNonce + "x,s=" + salt + ",i=99999999999999999999999999", "more than the 1000000"},
		{"salt not base64", "r=" + vecNonce + "x,s=W22ZaJ0SNY7s*EsUEjb6gQ==,i=4096", "salt that is not base64"},
		{"salt unpadded", "r=" + vecNonce + "x,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096", "salt that is not base64"},
		{"salt empty", "r=" + vecNonce + "x,s=,i=4096", "salt that is not base64"},
		{"no iteration count", "r=" + vecNonce + "x,s=" + salt, "lacks"},
		{"only a nonce", "r=" + vecNonce + "x", "lacks"},
		{"empty", "", "lacks"},
		{"wrong order", "s=" + salt + ",r=" + vecNonce + "x,i=4096", "where r= belongs"},
		{"unknown attribute for i", "r=" + vecNonce + "x,s=" + salt + ",j=4096", "where i= belongs"},
		{"mandatory extension", "m=ext,r=" + vecNonce + "x,s=" + salt + ",i=4096", "m="},
		{"server error instead", "e=unknown-user", `refused the authentication: "unknown-user"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := scramAt(t, "user", "pencil", vecNonce)
			resp, err := c.Next([]byte(tt.first))
			if err == nil {
				t.Fatalf("server-first %q accepted; client-final %q", tt.first, resp)
			}
			if resp != nil || c.serverSignature != nil {
				t.Errorf("a refused server-first still produced a response or keys")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			// Neither the right signature nor an empty one (which equals
			// the keys never derived) verifies after a refusal.
			for _, final := range []string{"v=", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="} {
				if _, err := c.Next([]byte(final)); err == nil || c.verified() {
					t.Errorf("after a refused server-first, server-final %q verified (err %v)", final, err)
				}
			}
		})
	}
	// A challenge before Start is refused, and verifies nothing.
	c0, err := newSCRAMClient("user", "pencil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c0.Next([]byte("v=")); err == nil || c0.verified() {
		t.Errorf("a server-final before the exchange started verified (err %v)", err)
	}
	// Extensions after i= are allowed (RFC 5802 section 7) and are part of
	// the AuthMessage.
	c, _ := scramAt(t, "user", "pencil", vecNonce)
	if _, err := c.Next([]byte(vecFirst + ",x=ext")); err != nil {
		t.Errorf("server-first with an extension: %v", err)
	}
}

// The username is prepared and escaped; the password is prepared, so that
// equivalent spellings give the same proof. What SASLprep refuses is a
// configuration error that names the position, not the password.
func TestSCRAMCredentials(t *testing.T) {
	tests := []struct{ user, want string }{
		{"user", "n,,n=user,r=N"},
		{"a,b=c", "n,,n=a=2Cb=3Dc,r=N"},
		{"==,,", "n,,n==3D=3D=2C=2C,r=N"},
		{"I\u00adX", "n,,n=IX,r=N"},
		{"\u2168", "n,,n=IX,r=N"},
	}
	for _, tt := range tests {
		if _, first := scramAt(t, tt.user, "p", "N"); first != tt.want {
			t.Errorf("user %+q: client-first %q, want %q", tt.user, first, tt.want)
		}
	}

	proof := func(pass string) string {
		c, _ := scramAt(t, "user", pass, vecNonce)
		final, err := c.Next([]byte(vecFirst))
		if err != nil {
			t.Fatal(err)
		}
		return string(final)
	}
	if a, b := proof("IX"), proof("I\u00adX"); a != b {
		t.Errorf("passwords equal under SASLprep give different proofs: %q, %q", a, b)
	}
	if a, b := proof("IX"), proof("\u2168"); a != b {
		t.Errorf("passwords equal under SASLprep give different proofs: %q, %q", a, b)
	}
	if a, b := proof("pencil"), proof("pencil "); a == b {
		t.Error("different passwords give the same proof")
	}

	_, err := newSCRAMClient("us\u0007er", "pencil")
	var pe *saslprep.Error
	if !errors.As(err, &pe) || pe.Index != 3 || !strings.Contains(err.Error(), "U+0007") || !strings.Contains(err.Error(), "username") {
		t.Errorf("bad username: %v; want the position and the character", err)
	}
	_, err = newSCRAMClient("user", "s3cr\u00e9t\ue000x")
	if !errors.As(err, &pe) || pe.Index != 7 || pe.Rune != 0 || !strings.Contains(err.Error(), "password") {
		t.Errorf("bad password: %v (%+v); want the position only", err, pe)
	}
	for _, leak := range []string{"s3cr", "\ue000", "U+E000", "\\ue000"} {
		if err != nil && strings.Contains(err.Error(), leak) {
			t.Errorf("password error %q shows %q", err, leak)
		}
	}
}

// The client nonce is random, printable, free of ',' and long enough.
func TestSCRAMNonce(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n, err := randomNonce()
		if err != nil {
			t.Fatal(err)
		}
		if len(n) < 24 || strings.ContainsAny(n, ", ") || seen[n] {
			t.Fatalf("nonce %q: short, has ',' or space, or repeated", n)
		}
		for i := 0; i < len(n); i++ {
			if n[i] < 0x21 || n[i] > 0x7e {
				t.Fatalf("nonce %q is not printable", n)
			}
		}
		seen[n] = true
	}
}

// Over the wire: a server whose signature is wrong is refused with an auth
// error, and the client cancels the exchange with "*" (RFC 4954 section 4)
// instead of sending an empty response.
func TestSCRAMWrongServerProofOverTheWire(t *testing.T) {
	for _, final := range []string{"v=" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "e=invalid-proof"} {
		t.Run(final[:2], func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				if !scramUpToClientFinal(p) {
					return
				}
				p.send("334 " + base64.StdEncoding.EncodeToString([]byte(final)) + "\r\n")
				if l := p.line(); l != "*" {
					p.t.Errorf("after a bad server-final the client sent %q, want *", l)
				}
				p.send("501 5.7.0 cancelled\r\n")
			})
			_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
				Auth: &Auth{Mechanism: "SCRAM-SHA-256", Username: "user", Password: "secret"}})
			e := wantKind(t, err, KindAuth)
			if !strings.Contains(e.Error(), "SCRAM-SHA-256") || strings.Contains(e.Error(), "secret") {
				t.Errorf("error %q", e)
			}
		})
	}
}

// A password SASLprep refuses is a configuration error before any byte of
// AUTH is sent.
func TestSCRAMUnpreparablePassword(t *testing.T) {
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH SCRAM-SHA-256")
		if l := p.line(); strings.HasPrefix(l, "AUTH") {
			p.t.Errorf("client sent %q", l)
		}
	})
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Mechanism: "SCRAM-SHA-256", Username: "user", Password: "bad\u0000word"}})
	e := wantKind(t, err, KindConfig)
	if strings.Contains(e.Error(), "bad") || !strings.Contains(e.Error(), "character 4") {
		t.Errorf("error %q: want the position, not the password", e)
	}
}

func BenchmarkSCRAMExchange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := newSCRAMClient("user", "pencil")
		if err != nil {
			b.Fatal(err)
		}
		c.nonce = fixedNonce(vecNonce)
		c.Start()
		c.Next([]byte(vecFirst))
		if _, err := c.Next([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSCRAMServerFirst: whatever the server sends, parsing does not panic,
// and what it accepts keeps the rules (our nonce extended, a salt, a
// bounded count).
func FuzzSCRAMServerFirst(f *testing.F) {
	f.Add(vecFirst)
	f.Add("m=x," + vecFirst)
	f.Add("r=" + vecNonce + "x,s=,i=0")
	f.Fuzz(func(t *testing.T, msg string) {
		sf, err := parseServerFirst(msg, vecNonce)
		if err != nil {
			if saslFix(err) == "" {
				t.Fatalf("error %v has no fix", err)
			}
			return
		}
		if !strings.HasPrefix(sf.nonce, vecNonce) || len(sf.nonce) <= len(vecNonce) || len(sf.salt) == 0 ||
			sf.iters < scramMinIterations || sf.iters > scramMaxIterations || strings.HasPrefix(msg, "m=") {
			t.Fatalf("accepted %q as %+v", msg, sf)
		}
	})
}

// scramUpToClientFinal plays a server over implicit TLS up to the client's
// final SCRAM message: greeting, EHLO offering SCRAM-SHA-256, a
// server-first message that extends the client's nonce, and the client's
// proof read (and not checked). It reports false when the handshake failed.
func scramUpToClientFinal(p *peer) bool {
	if !p.tlsServer(pki().Server.TLSCertificate()) {
		return false
	}
	p.send("220 hi\r\n")
	p.ehlo("AUTH SCRAM-SHA-256")
	l := p.expect("AUTH SCRAM-SHA-256 ")
	first, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "AUTH SCRAM-SHA-256 "))
	_, nonce, _ := strings.Cut(string(first), ",r=")
	salt := base64.StdEncoding.EncodeToString([]byte("saltsaltsalt"))
	p.send("334 " + base64.StdEncoding.EncodeToString([]byte("r="+nonce+"srv,s="+salt+",i=4096")) + "\r\n")
	p.line() // client-final with its proof
	return true
}
