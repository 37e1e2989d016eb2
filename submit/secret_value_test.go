package submit

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSecretEnvValueNotEchoed: a password given where the name of its
// environment variable belongs (--password-env 'PW=s3cret', or the value
// alone with a blank in it) is refused by Connector.Secret as Check
// refuses it, without the value in the message or the fix: it used to
// say "the environment variable PW=s3cret is empty or not set" and
// "export PW=s3cret", on the terminal, in --json and in logs.
func TestSecretEnvValueNotEchoed(t *testing.T) {
	c := &Connector{Getenv: func(string) string { return "" }}
	for _, ref := range []string{"PW=s3cret", "s3cret with blanks", "s3cret\tx", "s3cret\nx"} {
		_, err := c.Secret(context.Background(), &Account{}, SecretRef{Source: SecretEnv, Ref: ref, Name: "--password-env"})
		var se *Error
		if !errors.As(err, &se) || se.Field != "secret" || se.Source != SecretEnv || se.Secret != SecretPassword {
			t.Errorf("%q: %v, want an *Error of Field secret, Source env", ref, err)
			continue
		}
		if strings.Contains(err.Error()+se.Fix, "s3cret") {
			t.Errorf("%q: the value is in the error: %q (fix %q)", ref, err, se.Fix)
		}
	}
}
