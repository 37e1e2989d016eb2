package smtp

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/transcript"
)

// TestAuthReplyEchoingSecretRedacted: a server that repeats what the
// client sent in its AUTH reply (a debugging server, a hostile one; for
// PLAIN the base64 of user and password, for LOGIN each answer, or the
// password itself decoded) gets the secret into neither the transcript nor
// the error the caller prints and stores (a queued item's last error, a
// log line): those parts of its reply read [redacted]. The rest of the
// reply (its code, its words) is kept.
func TestAuthReplyEchoingSecretRedacted(t *testing.T) {
	const user, pw = "user", "hunter2-secret"
	blob := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
	for _, tc := range []struct {
		name    string
		mech    string
		reply   func(p *peer) // the exchange after EHLO, ending in a refusal
		inReply bool          // the 535 repeats the secret
	}{
		{"PLAIN, blob echoed", "PLAIN", func(p *peer) {
			l := p.expect("AUTH PLAIN ")
			p.send("535 5.7.8 you said " + l + "\r\n")
		}, true},
		{"PLAIN, password decoded", "PLAIN", func(p *peer) {
			p.expect("AUTH PLAIN ")
			p.send("535-5.7.8 bad password\r\n535 5.7.8 " + pw + " is wrong\r\n")
		}, true},
		{"OAUTHBEARER, token in the error status", "OAUTHBEARER", func(p *peer) {
			p.expect("AUTH OAUTHBEARER ")
			p.send("334 " + base64.StdEncoding.EncodeToString([]byte(`{"status":"invalid token `+pw+`"}`)) + "\r\n")
			p.expect("AQ==")
			p.send("535 5.7.8 no\r\n")
		}, false},
		{"LOGIN, answer echoed", "LOGIN", func(p *peer) {
			p.expect("AUTH LOGIN")
			p.send("334 " + base64.StdEncoding.EncodeToString([]byte("Username:")) + "\r\n")
			p.line()
			p.send("334 " + base64.StdEncoding.EncodeToString([]byte("Password:")) + "\r\n")
			l := p.line()
			p.send("535 5.7.8 not " + l + "\r\n")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := scripted(t, func(p *peer) {
				if !p.tlsServer(pki().Server.TLSCertificate()) {
					return
				}
				p.send("220 hi\r\n")
				p.ehlo("AUTH " + tc.mech)
				tc.reply(p)
			})
			var log bytes.Buffer
			_, err := dial(t, addr, &Config{Mode: Implicit, TLS: tlsConfig(), Transcript: transcript.New(&log),
				Auth: &Auth{Mechanism: tc.mech, Username: user, Password: pw}})
			e := wantKind(t, err, KindAuth)
			pwB64 := base64.StdEncoding.EncodeToString([]byte(pw))
			for _, s := range []string{pw, blob, pwB64} {
				if strings.Contains(log.String(), s) {
					t.Errorf("%q in the transcript:\n%s", s, log.String())
				}
				if e != nil && (strings.Contains(e.Error(), s) || strings.Contains(e.Reply.String(), s)) {
					t.Errorf("%q in the error: %v", s, e)
				}
			}
			if e != nil && (e.Reply == nil || e.Reply.Code != 535 || tc.inReply != strings.Contains(e.Reply.String(), transcript.Redacted)) {
				t.Errorf("reply %v, want the 535 with the secret shown as %s", e.Reply, transcript.Redacted)
			}
		})
	}
}
