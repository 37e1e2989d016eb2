package server_test

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
)

// With Config.Tokens the server offers OAUTHBEARER and XOAUTH2 (and not
// PLAIN or LOGIN, which need Users); each accepts its own client response
// with a good token, answers a bad token with RFC 7628 section 3.2.2's
// JSON error challenge and then 535, and refuses malformed responses
// (501). OAUTHBEARER's answer to the error must be a lone 0x01 (section
// 3.2.3).
func TestOAuthMechanisms(t *testing.T) {
	s := start(t, func(c *server.Config) {
		c.Tokens = map[string]string{"ann@example.org": "tok"}
		c.AuthFailureDelay = -1
		c.MaxAuthFailures = 100
	})
	conf := &tls.Config{RootCAs: caPoolFromFile(t, s), ServerName: "localhost"}
	r := dialTLS(t, s, conf)
	ext := r.ehlo()
	if got := strings.Fields(ext["AUTH"]); !slices.Equal(got, []string{"OAUTHBEARER", "XOAUTH2"}) {
		t.Errorf("AUTH offers %q, want OAUTHBEARER XOAUTH2", got)
	}
	r.cmd(530, "MAIL FROM:<ann@example.org>") // AUTH first
	bearer := func(user, tok string) string {
		return b64("n,a=" + user + ",\x01host=localhost\x01port=465\x01auth=Bearer " + tok + "\x01\x01")
	}
	for _, tc := range []struct {
		name    string
		ir      string // the AUTH line
		answer  string // the answer to an error challenge; "" when none comes
		want    int
		errJSON bool
	}{
		{"bearer wrong token", "AUTH OAUTHBEARER " + bearer("ann@example.org", "nope"), b64("\x01"), 535, true},
		{"bearer wrong user", "AUTH OAUTHBEARER " + bearer("bob@example.org", "tok"), b64("\x01"), 535, true},
		{"bearer error answered wrongly", "AUTH OAUTHBEARER " + bearer("ann@example.org", "nope"), b64("x"), 501, true},
		{"bearer no gs2 header", "AUTH OAUTHBEARER " + b64("\x01auth=Bearer tok\x01\x01"), "", 501, false},
		{"bearer no user", "AUTH OAUTHBEARER " + b64("n,,\x01auth=Bearer tok\x01\x01"), "", 501, false},
		{"bearer not Bearer", "AUTH OAUTHBEARER " + b64("n,a=ann@example.org,\x01auth=Basic tok\x01\x01"), "", 501, false},
		{"bearer unterminated", "AUTH OAUTHBEARER " + b64("n,a=ann@example.org,\x01auth=Bearer tok\x01"), "", 501, false},
		{"xoauth2 wrong token", "AUTH XOAUTH2 " + b64("user=ann@example.org\x01auth=Bearer nope\x01\x01"), "", 535, true},
		{"xoauth2 malformed", "AUTH XOAUTH2 " + b64("user=ann@example.org\x01auth=tok\x01\x01"), "", 501, false},
		{"plain not offered", "AUTH PLAIN " + b64("\x00ann@example.org\x00tok"), "", 504, false},
		{"bearer good", "AUTH OAUTHBEARER " + bearer("ann@example.org", "tok"), "", 235, false},
	} {
		r.send(tc.ir)
		code, text := r.reply()
		if tc.errJSON {
			if code != 334 || text != b64(`{"status":"invalid_token","scope":"smtp"}`) {
				t.Errorf("%s: got %d %q, want the JSON error challenge", tc.name, code, text)
				continue
			}
			r.send(tc.answer) // XOAUTH2's answer is an empty line
			code, text = r.reply()
		}
		if code != tc.want {
			t.Errorf("%s: got %d %q, want %d", tc.name, code, text, tc.want)
		}
	}
	r.cmd(250, "MAIL FROM:<ann@example.org>")

	// XOAUTH2 with a good token, on a fresh connection.
	r = dialTLS(t, s, conf)
	r.ehlo()
	r.cmd(235, "AUTH XOAUTH2 "+b64("user=ann@example.org\x01auth=Bearer tok\x01\x01"))
}

// DSN (RFC 3461): offered in EHLO and recorded in the Envelope with
// Config.DSN; refused (504) without it, so a client that asks for
// notifications a server cannot give learns so.
func TestDSNParameters(t *testing.T) {
	s := start(t, func(c *server.Config) { c.DSN = true })
	r := dialPlain(t, s)
	if _, ok := r.ehlo()["DSN"]; !ok {
		t.Fatal("EHLO does not offer DSN")
	}
	r.cmd(250, "MAIL FROM:<ann@example.org> RET=HDRS ENVID=QQ314159")
	r.cmd(250, "RCPT TO:<bob@example.org>")
	r.cmd(250, "RCPT TO:<cy@example.org> NOTIFY=SUCCESS,FAILURE")
	r.cmd(250, "RCPT TO:<di@example.org> NOTIFY=NEVER")
	r.cmd(354, "DATA")
	r.cmd(250, "Subject: t\r\n\r\nbody\r\n.")
	r.cmd(250, "MAIL FROM:<ann@example.org>")
	r.cmd(250, "RCPT TO:<bob@example.org>")
	r.cmd(354, "DATA")
	r.cmd(250, "Subject: t\r\n\r\nbody\r\n.")
	msgs := waitN(t, s, 2)
	e := msgs[0].Envelope
	if e.DSNReturn != "HDRS" || e.EnvelopeID != "QQ314159" ||
		!slices.Equal(e.Notify, []string{"", "SUCCESS,FAILURE", "NEVER"}) {
		t.Errorf("first message: RET %q ENVID %q NOTIFY %q", e.DSNReturn, e.EnvelopeID, e.Notify)
	}
	if e := msgs[1].Envelope; e.DSNReturn != "" || e.EnvelopeID != "" || e.Notify != nil {
		t.Errorf("second message carries the first one's DSN: RET %q ENVID %q NOTIFY %q", e.DSNReturn, e.EnvelopeID, e.Notify)
	}

	plain := start(t, nil)
	r = dialPlain(t, plain)
	if _, ok := r.ehlo()["DSN"]; ok {
		t.Error("EHLO offers DSN without Config.DSN")
	}
	r.cmd(504, "MAIL FROM:<ann@example.org> RET=FULL")
	r.cmd(250, "MAIL FROM:<ann@example.org>")
	r.cmd(504, "RCPT TO:<bob@example.org> NOTIFY=FAILURE")
}

// OAUTHBEARER and XOAUTH2 tell a client that its token was refused with
// the error challenge, before the exchange ends: a guesser that then
// cancels ("*", RFC 4954 section 4) has still learnt the answer. Each such
// refusal counts against MaxAuthFailures (and waits AuthFailureDelay) as a
// refused PLAIN does, so the MaxAuthFailures-th guess ends the connection
// with 421 and no answer, however the exchanges end.
func TestOAuthRefusalCountedBeforeCancel(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"OAUTHBEARER", "XOAUTH2"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			s := start(t, func(c *server.Config) {
				c.Tokens = map[string]string{"ann@example.org": "tok"}
				c.AllowInsecureAuth = true
				c.AuthFailureDelay = -1
				c.MaxAuthFailures = 3
			})
			r := dialPlain(t, s)
			r.ehlo()
			guess := "AUTH XOAUTH2 " + b64("user=ann@example.org\x01auth=Bearer guess\x01\x01")
			if mech == "OAUTHBEARER" {
				guess = "AUTH OAUTHBEARER " + b64("n,a=ann@example.org,\x01auth=Bearer guess\x01\x01")
			}
			// A guesser pipelines guesses, each cancelled after its
			// error challenge.
			if _, err := r.conn.Write([]byte(strings.Repeat(guess+"\r\n*\r\n", 10))); err != nil {
				t.Fatal(err)
			}
			lines := readUntilClosed(t, r.conn)
			var answered int
			for _, l := range lines {
				if strings.HasPrefix(l, "334 ") {
					answered++
				}
			}
			if answered >= 3 || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "421 4.7.0") {
				t.Errorf("%d guesses answered on one connection, then %q; want at most 2 (MaxAuthFailures 3), then 421 4.7.0 and a hang-up", answered, lines)
			}
		})
	}
}

// An OAuth 2.0 access token may be a few thousand characters (a JWT
// access token of Microsoft's identity platform often is), so the AUTH
// line that carries it as an initial response, or the response line after
// an empty challenge, is longer than go-smtp's default 2000-octet line.
// RFC 4954 section 4 requires a server to take the longest response its
// mechanisms produce (and allows AUTH lines of 12288 octets): both forms
// are accepted.
func TestOAuthLongToken(t *testing.T) {
	t.Parallel()
	token := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 100) // 3500+ characters
	s := start(t, func(c *server.Config) {
		c.Tokens = map[string]string{"ann@example.org": token}
	})
	conf := &tls.Config{RootCAs: caPoolFromFile(t, s), ServerName: "localhost"}
	r := dialTLS(t, s, conf)
	r.ehlo()
	r.cmd(235, "AUTH OAUTHBEARER "+b64("n,a=ann@example.org,\x01host=localhost\x01port=465\x01auth=Bearer "+token+"\x01\x01"))
	r.cmd(250, "MAIL FROM:<ann@example.org>")

	r = dialTLS(t, s, conf)
	r.ehlo()
	r.cmd(334, "AUTH XOAUTH2")
	r.cmd(235, b64("user=ann@example.org\x01auth=Bearer "+token+"\x01\x01"))
}
