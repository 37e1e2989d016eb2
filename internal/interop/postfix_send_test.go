//go:build linux

package interop

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/server"
	"github.com/tlsmail/tlsmail/smtp"
)

// Trace and delivery fields Postfix prepends (RFC 5321 section 4.4; RFC
// 9228 for Delivered-To): a message is byte-exact when everything after
// them is.
var postfixTrace = []string{"Return-Path", "X-Original-To", "Delivered-To", "Received"}

const (
	relayUser     = "relay-user"
	relayPassword = "relay-Pa55word" // a test fixture, not a secret
)

// TestPostfix sends with tlsmail's smtp client to Postfix (OpenSSL) over
// STARTTLS and implicit TLS, verifying Postfix's chain against the test
// CA. Postfix delivers into a Maildir, and relays (STARTTLS, verifying our
// embedded server's certificate, AUTH PLAIN via Cyrus SASL) to the embedded
// server, which stores the bytes it received. Both copies must equal the
// message sent apart from Postfix's trace fields (and, in the Maildir, the
// LF line endings Postfix stores mail with).
func TestPostfix(t *testing.T) {
	ctx := testContext(t)
	// Postfix's smtp client authenticates to the relay with Cyrus SASL,
	// which needs the PLAIN plugin (libsasl2-modules).
	wantRelayUser := ""
	relayCfg := server.Config{SMTPAddr: "127.0.0.1:0"}
	if saslPluginsInstalled() {
		wantRelayUser = relayUser
		relayCfg.Users = map[string]string{relayUser: relayPassword}
	}
	relay := startEmbedded(t, relayCfg)
	pc := postfixConfig{
		relayAddr: strings.Replace(relay.SMTPAddr(), "127.0.0.1", "localhost", 1),
		relayCA:   relay.CAFile(),
	}
	if wantRelayUser != "" {
		pc.relayUser, pc.relayPassword = relayUser, relayPassword
	}
	sasl, why := saslAvailable()
	if sasl {
		pc.saslUsers = map[string]string{submitUser: submitPassword}
	} else {
		t.Logf("AUTH to Postfix is not tested: %s", why)
	}
	pf := startPostfix(t, ctx, pc)

	// The tlsmail binary, built on first use into cliDir; a failed build
	// is reported by every CLI case without building again.
	var cli string
	var cliErr error
	cliDir := t.TempDir()
	cases := []struct {
		name   string
		useCLI bool // send with the tlsmail command instead of package smtp
		mode   smtp.TLSMode
		addr   string
		mech   string // "" for no AUTH, else the SASL mechanism
		domain string
	}{
		{"starttls/maildir", false, smtp.StartTLS, pf.smtpAddr, "", maildirDomain},
		{"starttls/relay", false, smtp.StartTLS, pf.smtpAddr, "", relayDomain},
		{"implicit/maildir", false, smtp.Implicit, pf.smtpsAddr, "", maildirDomain},
		{"implicit/relay/AUTH-PLAIN", false, smtp.Implicit, pf.smtpsAddr, "PLAIN", relayDomain},
		{"starttls/relay/AUTH-LOGIN", false, smtp.StartTLS, pf.smtpAddr, "LOGIN", relayDomain},
		{"cli/starttls/maildir", true, smtp.StartTLS, pf.smtpAddr, "", maildirDomain},
		{"cli/implicit/relay/AUTH-LOGIN", true, smtp.Implicit, pf.smtpsAddr, "LOGIN", relayDomain},
		{"cli/starttls/relay/AUTH-PLAIN", true, smtp.StartTLS, pf.smtpAddr, "PLAIN", relayDomain},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mech != "" && !sasl {
				t.Skip(why)
			}
			tag := fmt.Sprintf("postfix-%d", i)
			msg := testMessage(tag)
			rcpt := "rcpt-" + tag + "@" + tc.domain
			var response string
			if tc.useCLI {
				if cli == "" && cliErr == nil {
					cli, cliErr = buildCLI(ctx, cliDir)
				}
				if cliErr != nil {
					t.Fatal(cliErr)
				}
				response = sendCLI(t, ctx, cli, tc.addr, tc.mode, pf.files.CAFile, tc.mech, rcpt, msg)
			} else {
				var auth *smtp.Auth
				if tc.mech != "" {
					auth = &smtp.Auth{Mechanism: tc.mech, Username: submitUser, Password: submitPassword}
				}
				env := smtp.Envelope{From: fromAddr, To: []string{rcpt}, EightBit: true}
				res, _ := sendWith(t, ctx, tc.addr, clientConfig(tc.mode, pf.files.Roots, auth), env, msg)
				response = res.Response.String()
			}
			queueID := queueIDOf(response)
			if queueID == "" {
				t.Fatalf("Postfix replied %q to DATA: no queue id", response)
			}

			var delivered []byte
			var trace []string
			if tc.domain == maildirDomain {
				delivered = pf.waitMaildir(t, ctx, "<"+tag+"@tlsmail.test>")
				trace, delivered = splitTrace(delivered, postfixTrace...)
				if d := diffBytes(delivered, toLF(msg)); d != "" {
					t.Errorf("Maildir copy differs from the message sent (line endings aside): %s", d)
				}
				if !containsPrefix(trace, "Delivered-To: "+rcpt) {
					t.Errorf("trace fields %q lack Delivered-To: %s", trace, rcpt)
				}
			} else {
				m := relay.waitFor(t, ctx, "<"+tag+"@tlsmail.test>")
				delivered, _ = m.Data()
				trace, delivered = splitTrace(delivered, postfixTrace...)
				if d := diffBytes(delivered, msg); d != "" {
					t.Errorf("relayed copy differs from the message sent: %s", d)
				}
				checkRelayHop(t, m, rcpt, wantRelayUser)
			}
			// The Received field Postfix's smtpd added records the hop
			// from our client: TLS (smtpd_tls_received_header), and
			// ESMTPSA when we authenticated (RFC 3848).
			proto := "with ESMTPS id " + queueID
			if tc.mech != "" {
				proto = "with ESMTPSA id " + queueID
			}
			if len(trace) == 0 || !strings.Contains(trace[len(trace)-1], "using TLSv1.") ||
				!strings.Contains(trace[len(trace)-1], proto) {
				t.Errorf("trace fields %q: want a Received field with TLS details and %q", trace, proto)
			}
			if tc.mech != "" {
				pf.waitLog(t, ctx, fmt.Sprintf("%s: client=localhost[127.0.0.1], sasl_method=%s, sasl_username=%s@%s",
					queueID, tc.mech, submitUser, saslRealm))
			}
		})
	}

	t.Run("implicit/relay/no-AUTH-refused", func(t *testing.T) {
		if !sasl {
			t.Skip(why)
		}
		c, err := smtp.Dial(ctx, pf.smtpsAddr, clientConfig(smtp.Implicit, pf.files.Roots, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Send(ctx, smtp.Envelope{From: fromAddr, To: []string{"x@" + relayDomain}}, bytes.NewReader(testMessage("denied")))
		var se *smtp.Error
		if !errors.As(err, &se) || se.Kind != smtp.KindRejected || se.Reply == nil || se.Reply.Code != 554 {
			t.Fatalf("Send without AUTH on the submission port: %v; want a 554 relay refusal (KindRejected)", err)
		}
	})

	t.Run("unrelated-CA", func(t *testing.T) {
		other := newPKIFiles(t, t.TempDir())
		for _, a := range []struct {
			mode smtp.TLSMode
			addr string
		}{{smtp.StartTLS, pf.smtpAddr}, {smtp.Implicit, pf.smtpsAddr}} {
			c, err := smtp.Dial(ctx, a.addr, clientConfig(a.mode, other.Roots, nil))
			if err == nil {
				c.Close()
				t.Fatalf("%s: the client accepted Postfix's chain against an unrelated root", a.mode)
			}
			var se *smtp.Error
			if !errors.As(err, &se) || se.Kind != smtp.KindCertificate {
				t.Errorf("%s: error = %v; want an *smtp.Error of kind %q", a.mode, err, smtp.KindCertificate)
			}
		}
	})

	// Postfix's smtp client verified our server (OpenSSL, verify level).
	if !t.Failed() {
		pf.waitLog(t, ctx, "Verified TLS connection established to localhost[127.0.0.1]")
	}
}

// checkRelayHop checks the sidecar of a message Postfix relayed to the
// embedded server: STARTTLS, AUTH as user ("" for none), Postfix's EHLO
// name.
func checkRelayHop(t *testing.T, m server.Message, rcpt, user string) {
	t.Helper()
	if m.From != fromAddr || len(m.To) != 1 || m.To[0] != rcpt {
		t.Errorf("relayed envelope %q -> %q, want %q -> [%q]", m.From, m.To, fromAddr, rcpt)
	}
	if m.TLS == nil || !m.TLS.STARTTLS || !strings.HasPrefix(m.TLS.Version, "TLS 1.") {
		t.Errorf("relayed sidecar TLS = %+v, want STARTTLS with TLS 1.x", m.TLS)
	}
	if m.AuthUser != user {
		t.Errorf("relayed sidecar auth user %q, want %q (Postfix's Cyrus SASL client)", m.AuthUser, user)
	}
	if m.Helo != postfixHost {
		t.Errorf("relayed sidecar EHLO %q, want %q", m.Helo, postfixHost)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// queueIDOf extracts Postfix's queue id from "250 2.0.0 Ok: queued as ID".
func queueIDOf(reply string) string {
	_, id, ok := strings.Cut(reply, "queued as ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(id)
}
