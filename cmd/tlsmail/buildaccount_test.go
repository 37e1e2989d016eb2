package main

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/smtp"
	"github.com/tlsmail/tlsmail/submit"
	"github.com/tlsmail/tlsmail/trust"
)

// TestBuildAccount: the account of a send is the configuration file's
// with exactly the flags given on the command line over it, in one step;
// a flag left at its default does not hide the file's setting.
func TestBuildAccount(t *testing.T) {
	file := &submit.Account{Host: "mail.example.org", Port: 465, Mode: smtp.Implicit,
		Trust: submit.Trust{CAFile: "/etc/ca.pem", Pins: []string{"sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}, ServerName: "tls.example.org",
			Insecure: true, Revocation: trust.RevocationStrict, CRLFile: "/etc/crl.pem"},
		Client:   submit.ClientIdentity{CertFile: "/etc/c.pem", KeyFile: "/etc/k.pem"},
		Provider: "go", LocalName: "client.example.org", Timeout: 7 * time.Second}
	// The account of a file with auth (FromConfig): its password a
	// reference to the account.
	fileAuth := &submit.Account{ConfigFile: "/etc/msmtprc", Name: "work", Host: "mail.example.org", Port: 587, Mode: smtp.StartTLS,
		Provider: "go", Timeout: 7 * time.Second,
		Auth: submit.Auth{User: "ann", Mechanism: "PLAIN", Secret: submit.SecretRef{Source: submit.SecretConfig, Ref: "work"}}}
	defaults := func() *sendOptions {
		return &sendOptions{provider: defaultProvider, timeout: smtp.DefaultTimeout, auth: "auto"}
	}
	tests := []struct {
		name    string
		file    *submit.Account
		flags   func(o *sendOptions)
		changed []string
		want    func(a *submit.Account)
	}{
		{name: "file only", file: file, want: func(a *submit.Account) {}},
		{name: "flags only", flags: func(o *sendOptions) { o.server = "smtp.example.com"; o.ca = "/ca.pem" },
			want: func(a *submit.Account) {
				*a = submit.Account{Host: "smtp.example.com", Port: 587, Mode: smtp.StartTLS, Trust: submit.Trust{CAFile: "/ca.pem"},
					Provider: defaultProvider, Timeout: smtp.DefaultTimeout}
			}},
		{name: "server flag keeps the file's mode for its default port", file: file,
			flags: func(o *sendOptions) { o.server = "other.example.org" },
			want:  func(a *submit.Account) { a.Host = "other.example.org" }},
		{name: "tls flag over the file's", file: file, flags: func(o *sendOptions) { o.tlsMode = "STARTTLS" },
			want: func(a *submit.Account) { a.Mode = smtp.StartTLS }},
		{name: "trust flags", file: file,
			flags: func(o *sendOptions) {
				o.ca, o.pins, o.tlsName, o.revocationFlag = "/ca.pem", []string{"sha256/" + pinOf32}, "n.example.org", "off"
			},
			want: func(a *submit.Account) {
				a.Trust.CAFile, a.Trust.Pins, a.Trust.ServerName, a.Trust.Revocation = "/ca.pem", []string{"sha256/" + pinOf32}, "n.example.org", trust.RevocationOff
			}},
		{name: "insecure off on the command line wins", file: file, changed: []string{"insecure"},
			want: func(a *submit.Account) { a.Trust.Insecure = false }},
		{name: "a default provider and timeout do not hide the file's", file: &submit.Account{Host: "h", Port: 25, Provider: "go", Timeout: 9 * time.Second},
			want: func(a *submit.Account) { a.Mode = smtp.StartTLS }},
		{name: "timeout and provider given", file: file, changed: []string{"timeout", "tls-provider"},
			flags: func(o *sendOptions) { o.timeout = 3 * time.Second },
			want:  func(a *submit.Account) { a.Timeout = 3 * time.Second; a.Provider = defaultProvider }},
		{name: "client certificate given replaces both files", file: file, flags: func(o *sendOptions) { o.cert = "/mine.pem" },
			want: func(a *submit.Account) { a.Client = submit.ClientIdentity{CertFile: "/mine.pem"} }},
		{name: "password from a flag", file: file, flags: func(o *sendOptions) { o.user = "ann"; o.password.env = "PW" },
			want: func(a *submit.Account) {
				a.Auth = submit.Auth{User: "ann", Mechanism: "AUTO", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "PW", Name: "--password-env"}}
			}},
		{name: "password from the configuration account", file: fileAuth,
			want: func(a *submit.Account) {}},
		{name: "a password flag over the file's", file: fileAuth, flags: func(o *sendOptions) { o.password.env = "PW" },
			want: func(a *submit.Account) {
				a.Auth.Secret = submit.SecretRef{Source: submit.SecretEnv, Ref: "PW", Name: "--password-env"}
			}},
		{name: "--auth over the file's mechanism", file: fileAuth, changed: []string{"auth"},
			flags: func(o *sendOptions) { o.auth = "login" },
			want:  func(a *submit.Account) { a.Auth.Mechanism = "LOGIN" }},
		{name: "a mechanism left at its default does not hide the file's", file: fileAuth,
			flags: func(o *sendOptions) { o.password.file = "/pw" },
			want: func(a *submit.Account) {
				a.Auth.Secret = submit.SecretRef{Source: submit.SecretFile, Ref: "/pw", Name: "--password-file"}
			}},
		{name: "--user replaces the file's authentication", file: fileAuth,
			flags: func(o *sendOptions) { o.user, o.password.cmd = "bob", "pass show bob" },
			want: func(a *submit.Account) {
				a.Auth = submit.Auth{User: "bob", Mechanism: "AUTO", Secret: submit.SecretRef{Source: submit.SecretCommand, Ref: "pass show bob", Name: "--password-cmd"}}
			}},
		{name: "a literal password has no reference", file: file,
			flags: func(o *sendOptions) { o.user, o.password.literal = "demo", "pw" },
			want:  func(a *submit.Account) { a.Auth = submit.Auth{User: "demo", Mechanism: "AUTO"} }},
		{name: "ehlo", file: file, flags: func(o *sendOptions) { o.ehlo = "me.example.org" },
			want: func(a *submit.Account) { a.LocalName = "me.example.org" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := defaults()
			if tc.file != nil {
				f := *tc.file
				o.file = &f
			}
			if tc.flags != nil {
				tc.flags(o)
			}
			o.changed = func(f string) bool {
				for _, c := range tc.changed {
					if c == f {
						return true
					}
				}
				return false
			}
			var want submit.Account
			if tc.file != nil {
				want = *tc.file
			}
			tc.want(&want)
			got, err := buildAccount(&env{getenv: func(string) string { return "" }, providers: newProviders()}, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("buildAccount =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// pinOf32 is the base64 of 32 zero bytes: a well-formed SPKI pin.
const pinOf32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// TestAccountForQueue: the queued account is the plan's, with no secret
// and no message-only names; a password with no place to read it again is
// refused before anything is queued.
func TestAccountForQueue(t *testing.T) {
	plan := &sendPlan{acct: submit.Account{Host: "h", Port: 587,
		Auth: submit.Auth{User: "ann", Mechanism: "AUTO", Secret: submit.SecretRef{Source: submit.SecretEnv, Ref: "PW", Name: "--password-env"}}}}
	a, err := accountFor(&sendOptions{}, plan)
	if err != nil || a.Auth.Secret != (submit.SecretRef{Source: submit.SecretEnv, Ref: "PW"}) {
		t.Fatalf("accountFor = %+v, %v; want the env reference without its message name", a.Auth, err)
	}
	literal := &sendPlan{acct: submit.Account{Host: "h", Port: 587, Auth: submit.Auth{User: "demo", Mechanism: "AUTO"}}}
	var ce *cliError
	if _, err := accountFor(&sendOptions{}, literal); !errors.As(err, &ce) || ce.kind != kindUsage {
		t.Errorf("a literal password: %v; want a usage error", err)
	}
	noFile := &sendPlan{acct: submit.Account{Host: "h", Port: 587,
		Auth: submit.Auth{User: "ann", Mechanism: "AUTO", Secret: submit.SecretRef{Source: submit.SecretConfig, Ref: "work"}}}}
	if _, err := accountFor(&sendOptions{}, noFile); !errors.As(err, &ce) || ce.kind != kindConfig {
		t.Errorf("a configuration password with no file to name: %v; want a configuration error", err)
	}
	// A configuration account's passwordeval and netrc lookup are queued
	// as the account, read again at delivery.
	for _, ref := range []submit.SecretRef{
		{Source: submit.SecretCommand, Ref: "pass show mail", Name: "passwordeval (/etc/msmtprc)", Config: true},
		{Source: submit.SecretNetrc, Config: true},
	} {
		p := &sendPlan{acct: submit.Account{ConfigFile: "/etc/msmtprc", Name: "work", Host: "h", Port: 587,
			Auth: submit.Auth{User: "ann", Mechanism: "AUTO", Secret: ref}}}
		a, err := accountFor(&sendOptions{}, p)
		if err != nil || a.Auth.Secret != (submit.SecretRef{Source: submit.SecretConfig, Ref: "work"}) {
			t.Errorf("%+v: accountFor = %+v, %v; want the configuration account", ref, a.Auth.Secret, err)
		}
	}
}
