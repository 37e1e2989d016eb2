package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/submit"
)

// TestPasswordSourceFailuresAsLibrary: a password source that fails is
// read by submit, for the command line as for a library user: the CLI's
// message is the library's for the same source, word for word, and its
// fix is the library's followed by the flag of the source that failed
// (the flag-hint table maps submit.Error's Source to the flag).
func TestPasswordSourceFailuresAsLibrary(t *testing.T) {
	t.Parallel()
	empty := writeFile(t, "empty", nil, 0o600)
	missing := filepath.Join(t.TempDir(), "missing")
	base := []string{"send", "--server", "127.0.0.1:1", "--from", "a@example.com", "--to", "b@example.org",
		"--body", "b", "--user", "u", "--timeout", "10s"}
	tests := []struct {
		name string
		args []string
		ref  submit.SecretRef
		hint string
	}{
		{"unset variable", []string{"--password-env", "TLSMAIL_TEST_UNSET"},
			submit.SecretRef{Source: submit.SecretEnv, Ref: "TLSMAIL_TEST_UNSET", Name: "--password-env"}, "--password-env VAR"},
		{"missing file", []string{"--password-file", missing},
			submit.SecretRef{Source: submit.SecretFile, Ref: missing, Name: "--password-file"}, "--password-file FILE"},
		{"empty file", []string{"--password-file", empty},
			submit.SecretRef{Source: submit.SecretFile, Ref: empty, Name: "--password-file"}, "--password-file FILE"},
		{"failing command", []string{"--password-cmd", "exit 3"},
			submit.SecretRef{Source: submit.SecretCommand, Ref: "exit 3", Name: "--password-cmd"}, "--password-cmd CMD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, want := (&submit.Connector{Getenv: func(string) string { return "" }}).Secret(context.Background(),
				&submit.Account{Timeout: 10 * time.Second}, tc.ref)
			se, ok := want.(*submit.Error)
			if !ok {
				t.Fatalf("the library's error: %#v, want a *submit.Error", want)
			}
			r := runTLSMail(t, append(append([]string{}, base...), tc.args...)...)
			fix := se.Fix
			if tc.hint != "" {
				fix += " (" + tc.hint + ")"
			}
			if r.code != exitConfig || !strings.Contains(r.stderr, "tlsmail: "+se.Msg+"\n") || !strings.Contains(r.stderr, "  fix: "+fix+"\n") {
				t.Errorf("want exit %d, the library's message %q and the fix %q:\n%s", exitConfig, se.Msg, fix, r)
			}
		})
	}
}
