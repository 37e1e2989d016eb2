package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/submit"
)

// TestAccountFlagsCheckedByTheLibrary: an --ehlo, --user or --auth value
// the account cannot use is refused by the library's one check
// (smtp.CheckLocalName, submit.Auth.Check, both in submit.Account.Check)
// for send and probe alike, with the exit code of the library's error kind
// and the flag named by the flag-hint table. Before, send and probe each
// had their own EHLO test (space, tab, CR, LF: exit 64), which let other
// control characters through to the connection and gave a name over 255
// octets another exit code (78) than a name with a space (64).
func TestAccountFlagsCheckedByTheLibrary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 300)
	send := []string{"send", "--server", "127.0.0.1:1", "--from", "a@example.com", "--to", "b@example.org",
		"--subject", "s", "--body", "b", "--timeout", "5s"}
	probe := []string{"probe", "--timeout", "5s", "127.0.0.1:1"}
	tests := []struct {
		name  string
		args  []string
		acct  submit.Account // the same setting in a library account
		code  int
		field string // of the library's *submit.Error
		flag  string // named in the fix by the flag-hint table
	}{
		{"send: EHLO name with a space", append(send, "--ehlo", "a b"), submit.Account{LocalName: "a b"}, exitConfig, "local_name", "--ehlo NAME"},
		{"send: EHLO name with a control character", append(send, "--ehlo", "a\x01b"), submit.Account{LocalName: "a\x01b"}, exitConfig, "local_name", "--ehlo NAME"},
		{"send: EHLO name over 255 octets", append(send, "--ehlo", long), submit.Account{LocalName: long}, exitConfig, "local_name", "--ehlo NAME"},
		{"probe: EHLO name with a space", append(probe, "--ehlo", "a b"), submit.Account{LocalName: "a b"}, exitConfig, "local_name", "--ehlo NAME"},
		{"probe: EHLO name with a control character", append(probe, "--ehlo", "a\x01b"), submit.Account{LocalName: "a\x01b"}, exitConfig, "local_name", "--ehlo NAME"},
		{"send: certificate name with a space", append(send, "--tls-name", "mx example"),
			submit.Account{Trust: submit.Trust{ServerName: "mx example"}}, exitUsage, "server_name", "(--tls-name NAME)"},
		{"send: user name on two lines", append(send, "--user", "a\nb", "--password-env", "X"),
			submit.Account{Auth: submit.Auth{User: "a\nb", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "X"}}}, exitUsage, "user", "(--user)"},
		{"send: unknown mechanism", append(send, "--user", "u", "--password-env", "X", "--auth", "MAGIC"),
			submit.Account{Auth: submit.Auth{User: "u", Mechanism: "MAGIC", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "X"}}}, exitUsage, "auth", "(--auth MECH)"},
		{"send: OAuth user with a control character", append(send, "--user", "a\x01b", "--password-env", "X", "--auth", "XOAUTH2"),
			submit.Account{Auth: submit.Auth{User: "a\x01b", Mechanism: "XOAUTH2", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "X"}}}, exitUsage, "user", "(--user)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := tc.acct
			a.Host = "h"
			var se *submit.Error
			if err := a.Check(); !errors.As(err, &se) || se.Field != tc.field {
				t.Errorf("library: Check() = %v, want an *Error of field %s", err, tc.field)
			}
			r := cli{args: tc.args, env: []string{"X=pw-4f2a9c"}}.run(t)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.flag) {
				t.Errorf("exit %d, want %d with %q in the fix\n%s", r.code, tc.code, tc.flag, r)
			}
			if strings.Contains(r.stdout+r.stderr, "pw-4f2a9c") {
				t.Errorf("the password is in the output\n%s", r)
			}
		})
	}
}
