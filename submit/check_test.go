package submit

import (
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/smtp"
)

// TestAccountCheck: Check refuses, before anything is queued, each Account
// that no delivery could ever use, naming the setting; the command line
// refuses the same settings before it queues (an unknown --auth
// mechanism, a user without a password source, a password without TLS
// and without a mechanism named). Without the check such an Account was
// queued by Enqueue and tried again at every pass until it expired.
func TestAccountCheck(t *testing.T) {
	env := SecretRef{Source: SecretEnv, Ref: "PW"}
	tests := []struct {
		name  string
		a     Account
		field string // "" means valid
	}{
		{"host only", Account{Host: "h"}, ""},
		{"auth auto", Account{Host: "h", Auth: Auth{Mechanism: "AUTO", User: "u", Secret: env}}, ""},
		{"auth empty mechanism", Account{Host: "h", Auth: Auth{User: "u", Secret: env}}, ""},
		{"auth lower case", Account{Host: "h", Auth: Auth{Mechanism: "scram-sha-256", User: "u", Secret: env}}, ""},
		{"xoauth2 token from a command", Account{Host: "h", Auth: Auth{Mechanism: "XOAUTH2", User: "u", Secret: SecretRef{Source: SecretCommand, Ref: "get-token"}}}, ""},
		{"plaintext named", Account{Host: "h", Mode: smtp.None, Auth: Auth{Mechanism: "PLAIN", User: "u", Secret: env}}, ""},
		{"no TLS, no auth", Account{Host: "h", Mode: smtp.None}, ""},
		{"no host", Account{Port: 25}, "host"},
		{"port", Account{Host: "h", Port: 70000}, "port"},
		{"mode", Account{Host: "h", Mode: "ssl"}, "tls"},
		{"secret source", Account{Host: "h", Auth: Auth{User: "u", Secret: SecretRef{Source: "literal", Ref: "pw"}}}, "secret"},
		{"env holds a value", Account{Host: "h", Auth: Auth{User: "u", Secret: SecretRef{Source: SecretEnv, Ref: "PW=x"}}}, "secret"},
		{"user line break", Account{Host: "h", Auth: Auth{User: "u\r\nRSET", Secret: env}}, "user"},
		{"unknown mechanism", Account{Host: "h", Auth: Auth{Mechanism: "GSSAPI", User: "u", Secret: env}}, "auth"},
		{"user without a secret", Account{Host: "h", Auth: Auth{Mechanism: "PLAIN", User: "u"}}, "secret"},
		{"secret without a user (no login would be made)", Account{Host: "h", Auth: Auth{Mechanism: "PLAIN", Secret: env}}, "user"},
		{"password without TLS, mechanism not named", Account{Host: "h", Mode: smtp.None, Auth: Auth{Mechanism: "AUTO", User: "u", Secret: env}}, "auth"},
		{"OAuth user with a control character", Account{Host: "h", Auth: Auth{Mechanism: "xoauth2", User: "a\x01b", Secret: env}}, "user"},
		{"server name", Account{Host: "h", Trust: Trust{ServerName: "mx.example.org"}}, ""},
		{"server name an address", Account{Host: "h", Trust: Trust{ServerName: "2001:db8::1"}}, ""},
		{"server name with a space", Account{Host: "h", Trust: Trust{ServerName: "mx example"}}, "server_name"},
		{"server name with a slash", Account{Host: "h", Trust: Trust{ServerName: "mx.example/x"}}, "server_name"},
		{"server name with a control character", Account{Host: "h", Trust: Trust{ServerName: "mx\x01"}}, "server_name"},
		// An EHLO name Dial refuses (KindConfig, which Classify defers):
		// refused before the message is queued with it.
		{"EHLO name", Account{Host: "h", LocalName: "mail.example.org"}, ""},
		{"EHLO name with a control character", Account{Host: "h", LocalName: "a\x01b"}, "local_name"},
		{"EHLO name over 255 octets", Account{Host: "h", LocalName: strings.Repeat("a", 256)}, "local_name"},
	}
	for _, tc := range tests {
		wantField(t, tc.name, tc.a.Check(), tc.field)
	}
}

// TestAuthCheck: Auth.Check, the login part of Account.Check that the
// command line runs on its flags before it has a password source to
// check, refuses a user name the SMTP client could not send and an
// unknown mechanism, whatever the secret.
func TestAuthCheck(t *testing.T) {
	tests := []struct {
		name  string
		a     Auth
		field string // "" means valid
	}{
		{"no login", Auth{}, ""},
		{"user, no mechanism", Auth{User: "u"}, ""},
		{"mechanisms in any case", Auth{User: "u", Mechanism: "cram-md5"}, ""},
		{"OAuth user", Auth{User: "ann@example.com", Mechanism: "OAUTHBEARER"}, ""},
		{"user with a tab (PLAIN carries it)", Auth{User: "a\tb", Mechanism: "PLAIN"}, ""},
		{"user line break", Auth{User: "u\r\nRSET"}, "user"},
		{"user NUL", Auth{User: "u\x00v", Mechanism: "PLAIN"}, "user"},
		{"OAuth user with a control character", Auth{User: "a\x01b", Mechanism: "XOAUTH2"}, "user"},
		{"unknown mechanism", Auth{User: "u", Mechanism: "GSSAPI"}, "auth"},
		{"unknown mechanism without a user", Auth{Mechanism: "MAGIC"}, "auth"},
	}
	for _, tc := range tests {
		wantField(t, tc.name, tc.a.Check(), tc.field)
	}
}

// wantField checks err, a Check's result for the row name: nil when field
// is "", else an *Error of that field with a fix.
func wantField(t *testing.T, name string, err error, field string) {
	t.Helper()
	var e *Error
	switch {
	case field == "" && err != nil:
		t.Errorf("%s: Check() = %v, want nil", name, err)
	case field != "" && !errors.As(err, &e):
		t.Errorf("%s: Check() = %v, want an *Error of field %s", name, err, field)
	case field != "" && (e.Field != field || e.Fix == ""):
		t.Errorf("%s: Check() field %q fix %q (%v), want field %s with a fix", name, e.Field, e.Fix, err, field)
	}
}
