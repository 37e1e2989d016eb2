package smtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/secchan"
	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/transcript"
	"github.com/tlsmail/tlsmail/trust"
)

// OAUTHBEARER (RFC 7628) and XOAUTH2 against the embedded server: a good
// token authenticates and the message is stored; a bad one is refused
// through the error challenge of RFC 7628 section 3.2.2, the error names
// the server's JSON status, and neither token ever reaches the transcript
// (nor the server's debug log), in clear or in base64.
func TestOAuthAgainstEmbeddedServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const good, bad = "ya29.good-token", "ya29.stale-token"
	var debug bytes.Buffer
	srv, err := server.Start(ctx, server.Config{
		SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), AuthFailureDelay: -1,
		Tokens: map[string]string{"ann@example.org": good}, Debug: &debug,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
		t.Run(mech, func(t *testing.T) {
			var log bytes.Buffer
			cfg := func(token string) *Config {
				return &Config{Mode: StartTLS, Timeout: 5 * time.Second, Transcript: transcript.New(&log),
					TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
					Auth: &Auth{Mechanism: mech, Username: "ann@example.org", Password: token}}
			}
			c, err := Dial(ctx, srv.SMTPAddr(), cfg(good))
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthMechanism() != mech {
				t.Errorf("mechanism %q, want %s", c.AuthMechanism(), mech)
			}
			if _, err := c.SendAndQuit(ctx, Envelope{From: "ann@example.org", To: []string{"bob@example.org"}}, strings.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
			_, err = Dial(ctx, srv.SMTPAddr(), cfg(bad))
			e := wantKind(t, err, KindAuth)
			if e.Reply == nil || e.Reply.Code != 535 || e.Temporary() {
				t.Errorf("refused token: reply %v, temporary %v; want a permanent 535", e.Reply, e.Temporary())
			}
			if !strings.Contains(err.Error(), `status "invalid_token"`) || !strings.Contains(e.Fix, "token") {
				t.Errorf("the error does not say the token was refused: %v (fix %q)", err, e.Fix)
			}
			for _, secret := range []string{good, bad} {
				for _, where := range []struct{ name, text string }{{"transcript", log.String()}, {"server debug log", debug.String()}} {
					if leaks(where.text, secret) {
						t.Errorf("token %q in the %s:\n%s", secret, where.name, where.text)
					}
				}
			}
			if !strings.Contains(log.String(), "AUTH "+mech+" [redacted]") {
				t.Errorf("the transcript does not show the redacted AUTH line:\n%s", log.String())
			}
		})
	}
	if msgs, err := srv.Messages(); err != nil || len(msgs) != 2 {
		t.Errorf("%d messages stored (%v), want 2", len(msgs), err)
	}
}

// leaks reports whether secret appears in text in clear or inside the
// base64 of any SASL message that could hold it.
func leaks(text, secret string) bool {
	if strings.Contains(text, secret) {
		return true
	}
	for _, f := range strings.Fields(text) {
		if b, err := base64.StdEncoding.DecodeString(f); err == nil && bytes.Contains(b, []byte(secret)) {
			return true
		}
	}
	return false
}

// The exact OAUTHBEARER exchange against a scripted server: the initial
// response carries the GS2 header with the user name escaped (RFC 5801
// section 4: ',' as =2C, '=' as =3D), host, port and the bearer token
// (RFC 7628 section 3.1); the error challenge is answered with a lone 0x01
// (section 3.2.3), after which the server's 535 ends the exchange.
func TestOAuthBearerWireFormat(t *testing.T) {
	const user, token = "a,b=c@example.org", "tok3n"
	var port int
	got := make(chan string, 2)
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH PLAIN OAUTHBEARER")
		l := p.expect("AUTH OAUTHBEARER ")
		ir, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "AUTH OAUTHBEARER "))
		got <- string(ir)
		p.send("334 " + base64.StdEncoding.EncodeToString([]byte(`{"status":"invalid_token","scope":"https://mail.example.org/"}`)) + "\r\n")
		got <- p.line()
		p.send("535 5.7.8 Authentication credentials invalid\r\n")
	})
	_, p, _ := net.SplitHostPort(addr)
	port, _ = strconv.Atoi(p)
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Mechanism: "OAUTHBEARER", Username: user, Password: token}})
	wantKind(t, err, KindAuth)
	want := "n,a=a=2Cb=3Dc@example.org,\x01host=127.0.0.1\x01port=" + strconv.Itoa(port) + "\x01auth=Bearer tok3n\x01\x01"
	if ir := <-got; ir != want {
		t.Errorf("initial response %q, want %q", ir, want)
	}
	if answer := <-got; answer != "AQ==" {
		t.Errorf("answer to the error challenge %q, want AQ== (a lone 0x01)", answer)
	}
	if !strings.Contains(err.Error(), `scope "https://mail.example.org/"`) {
		t.Errorf("the error does not name the scope the server wants: %v", err)
	}
}

// A server that sends a second challenge after its error breaks RFC 7628
// section 3.2.2: the client cancels the exchange ("*", RFC 4954 section 4)
// rather than loop.
func TestOAuthBearerSecondChallengeCancelled(t *testing.T) {
	cancelled := make(chan string, 1)
	addr := scripted(t, func(p *peer) {
		if !p.tlsServer(pki().Server.TLSCertificate()) {
			return
		}
		p.send("220 hi\r\n")
		p.ehlo("AUTH OAUTHBEARER")
		p.expect("AUTH OAUTHBEARER ")
		p.send("334 e30=\r\n")
		p.expect("AQ==")
		p.send("334 e30=\r\n")
		cancelled <- p.line()
		p.send("501 5.0.0 cancelled\r\n")
	})
	_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(),
		Auth: &Auth{Mechanism: "OAUTHBEARER", Username: "u", Password: "t"}})
	wantKind(t, err, KindAuth)
	if l := <-cancelled; l != "*" {
		t.Errorf("after a second challenge the client sent %q, want *", l)
	}
}

// A token that would break the message's framing (0x01 separates its
// fields; a bearer token holds no blank) is refused before AUTH is sent,
// as a configuration problem, without the token in the error.
func TestOAuthTokenChecked(t *testing.T) {
	for _, tc := range []struct{ user, token string }{
		{"ann", ""}, {"ann", "tok\x01auth=Bearer other"}, {"ann", "tok en"}, {"ann", "tok\n"}, {"a\x01nn", "tok"},
	} {
		for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
			_, err := (&Auth{Mechanism: mech, Username: tc.user, Password: tc.token}).saslClient(mech, "h", 1)
			if err == nil {
				t.Errorf("%s %q/%q accepted", mech, tc.user, tc.token)
			} else if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("%s: the token is in the error: %v", mech, err)
			}
		}
	}
	if _, err := (&Auth{Username: "ann@example.org", Password: "ya29.a-b_c~d+e/f=="}).saslClient("OAUTHBEARER", "h", 1); err != nil {
		t.Errorf("a well-formed token refused: %v", err)
	}
}

// TestOAuthTokenBeyondAuthLine: a token whose initial response would make
// the AUTH line longer than 12288 octets (RFC 4954 section 4) is not sent
// as an initial response: the client sends "AUTH MECH" alone, the server
// answers with an empty 334 (RFC 4422 section 5.1), and the client sends
// the token as the response, whose line still fits. The embedded server
// reads lines of 12288 octets, so before the client closed the connection
// on a line too long ("AUTH MECH <12270+ characters>").
func TestOAuthTokenBeyondAuthLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const user = "ann@example.org"
	for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
		t.Run(mech, func(t *testing.T) {
			// Find the listening port first: OAUTHBEARER's message holds it.
			srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), AuthFailureDelay: -1,
				Tokens: map[string]string{user: "placeholder"}})
			if err != nil {
				t.Fatal(err)
			}
			_, portText, _ := net.SplitHostPort(srv.SMTPAddr())
			port, _ := strconv.Atoi(portText)
			srv.Close()
			ir := func(token string) []byte {
				if mech == "XOAUTH2" {
					return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
				}
				return oauthBearerMessage(user, "127.0.0.1", port, token)
			}
			// The encoded response must fit a line of its own (at most
			// 12286 characters before CRLF) while "AUTH MECH " plus it
			// does not: 9210 raw octets encode to 12280 characters.
			token := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + strings.Repeat("x", 9210-len(ir("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.")))
			enc := base64.StdEncoding.EncodeToString(ir(token))
			if n := len("AUTH " + mech + " " + enc + "\r\n"); n <= 12288 || len(enc)+2 > 12288 {
				t.Fatalf("the test's token does not sit between the limits: AUTH line %d, response line %d", n, len(enc)+2)
			}
			srv, err = server.Start(ctx, server.Config{SMTPAddr: srv.SMTPAddr(), Dir: t.TempDir(), AuthFailureDelay: -1,
				Tokens: map[string]string{user: token}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var log bytes.Buffer
			c, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second, Transcript: transcript.New(&log),
				TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
				Auth: &Auth{Mechanism: mech, Username: user, Password: token}})
			if err != nil {
				t.Fatalf("a %d-character token: %v\n%s", len(token), err, log.String())
			}
			if _, err := c.SendAndQuit(ctx, Envelope{From: user, To: []string{"bob@example.org"}}, strings.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
			if alone := fmt.Sprintf("C: %d bytes: AUTH %s\n", len("AUTH "+mech+"\r\n"), mech); !strings.Contains(log.String(), alone) {
				t.Errorf("the transcript does not show %q:\n%s", alone, log.String())
			}
			if leaks(log.String(), token) {
				t.Errorf("the token is in the transcript")
			}
			if msgs, err := srv.Messages(); err != nil || len(msgs) != 1 {
				t.Errorf("%d messages stored (%v), want 1", len(msgs), err)
			}
		})
	}
}

// TestOAuthTokenBeyondResponseLine: a token too long for even a response
// line of its own (RFC 4954 section 4: 12288 octets) is refused before
// anything is sent (KindConfig, which says what to check) instead of
// going out and drawing the embedded server's 454 "Invalid base64 data",
// a temporary failure a queue retried until the message expired.
func TestOAuthTokenBeyondResponseLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const user = "ann@example.org"
	token := strings.Repeat("x", 20000)
	srv, err := server.Start(ctx, server.Config{SMTPAddr: "127.0.0.1:0", Dir: t.TempDir(), AuthFailureDelay: -1,
		Tokens: map[string]string{user: token}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
		var log bytes.Buffer
		_, err := Dial(ctx, srv.SMTPAddr(), &Config{Mode: StartTLS, Timeout: 5 * time.Second, Transcript: transcript.New(&log),
			TLS:  &secchan.Config{Trust: trust.Options{Roots: srv.CAPool()}},
			Auth: &Auth{Mechanism: mech, Username: user, Password: token}})
		var se *Error
		if !errors.As(err, &se) || se.Kind != KindConfig || !strings.Contains(err.Error(), "12286") {
			t.Errorf("%s: a %d-character token: %v, want a KindConfig error naming the line limit\n%s", mech, len(token), err, log.String())
		}
		if strings.Contains(log.String(), "bytes: AUTH") || leaks(log.String(), token) {
			t.Errorf("%s: something was sent:\n%s", mech, log.String())
		}
	}
}
