package submit

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/smtp"
)

// TestParseSecretSources: the --queue-secrets list takes env, file and
// command (any case, blanks and repeats ignored); config and netrc need no
// opt-in and anything else is refused, with a fix.
func TestParseSecretSources(t *testing.T) {
	tests := []struct {
		in   string
		want []SecretSource
		err  string
	}{
		{"", nil, ""},
		{"env", []SecretSource{SecretEnv}, ""},
		{" ENV, command ,env,,file", []SecretSource{SecretEnv, SecretCommand, SecretFile}, ""},
		{"config", nil, "needs no opt-in"},
		{"netrc", nil, "needs no opt-in"},
		{"password", nil, "unknown secret source"},
	}
	for _, tt := range tests {
		got, err := ParseSecretSources(tt.in)
		if tt.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Field != "queue_secrets" || !strings.Contains(e.Msg, tt.err) || e.Fix == "" {
				t.Errorf("ParseSecretSources(%q) = %v, %v; want an *Error saying %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSecretSources(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestOwnKeyRoundTrip: ItemPolicy.Own finds a program's own item by the
// Key of the Account it queued: the Account read back from the stored
// settings must have the same Key, or `send --queue` on a shared queue
// would refuse its own message.
func TestOwnKeyRoundTrip(t *testing.T) {
	accounts := []Account{
		{Host: "smtp.example.org", Auth: Auth{User: "u", Secret: SecretRef{Source: SecretEnv, Ref: "PW", Name: "--password-env"}}},
		{Host: "smtp.example.org", Port: 465, Mode: smtp.Implicit, Trust: Trust{CAFile: "/etc/ca.pem", Pins: []string{"sha256/AAAA"}, ServerName: "mx"},
			Auth: Auth{User: "u", Mechanism: "PLAIN", Secret: SecretRef{Source: SecretCommand, Ref: "pass show smtp"}}},
		{ConfigFile: "/home/u/.msmtprc", Name: "work", ConfigHost: "smtp.example.org", Host: "smtp.example.org",
			Auth: Auth{User: "u", Mechanism: "AUTO", Secret: SecretRef{Source: SecretCommand, Ref: "x", Config: true}}},
		{Host: "localhost", Port: 25, Mode: smtp.None, Log: Log{File: "/var/log/m.log"}},
	}
	for i, a := range accounts {
		own := a.Stored()
		b, err := json.Marshal(&own)
		if err != nil {
			t.Fatal(err)
		}
		var back Account
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Key() != own.Key() {
			t.Errorf("account %d: read back, Key %s; queued %s", i, back.Key(), own.Key())
		}
	}
}
