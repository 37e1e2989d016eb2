package submit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestSecretSources: each SecretRef source gives the secret, and each
// failure is an *Error (or the config file's own) that never holds the
// secret.
func TestSecretSources(t *testing.T) {
	dir := testdir.New(t)
	const secret = "s3cret-never-in-errors"
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte(secret+"\nsecond line\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte(secret+"\n"), 0o644)
	rc := filepath.Join(dir, "msmtprc")
	os.WriteFile(rc, []byte("account a\nhost h\nauth on\nuser u\npasswordeval echo "+secret+"\n\naccount b\nhost h\nauth on\nuser u\npassword "+secret+"\n"), 0o600)
	c := &Connector{Getenv: func(k string) string {
		if k == "PW" {
			return secret
		}
		return ""
	}}
	a := &Account{ConfigFile: rc, Timeout: 10 * time.Second}
	for _, tc := range []struct {
		name    string
		ref     SecretRef
		wantErr string // "" for the secret
	}{
		{"env", SecretRef{Source: SecretEnv, Ref: "PW"}, ""},
		{"env unset", SecretRef{Source: SecretEnv, Ref: "NOPE"}, "NOPE is empty or not set"},
		{"file", SecretRef{Source: SecretFile, Ref: file}, ""},
		{"file missing", SecretRef{Source: SecretFile, Ref: file + ".nope"}, "cannot open the password file"},
		{"command", SecretRef{Source: SecretCommand, Ref: "echo " + secret}, ""},
		{"command fails", SecretRef{Source: SecretCommand, Ref: "exit 3"}, "the password command failed"},
		{"config passwordeval", SecretRef{Source: SecretConfig, Ref: "a"}, ""},
		{"config password", SecretRef{Source: SecretConfig, Ref: "b"}, ""},
		{"config no such account", SecretRef{Source: SecretConfig, Ref: "c"}, "c"},
		{"unknown source", SecretRef{Source: "vault", Ref: "x"}, "names no password source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Secret(context.Background(), a, tc.ref)
			if tc.wantErr == "" {
				if err != nil || got != secret {
					t.Errorf("Secret = %q, %v; want the secret", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Secret = %q, %v; want an error with %q", got, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
		})
	}
	if runtime.GOOS != "windows" {
		_, err := c.Secret(context.Background(), a, SecretRef{Source: SecretFile, Ref: open})
		var se *Error
		if !errors.As(err, &se) || se.Field != "secret_file_mode" {
			t.Errorf("a password file others may read: %v, want an *Error of Field secret_file_mode", err)
		}
	}
	if runtime.GOOS == "windows" {
		return // no sleep command in cmd.exe
	}
	_, err := runSecretCommand(context.Background(), "sleep 5", 200*time.Millisecond, SecretPassword)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a command that outlives its timeout: %v, want context.DeadlineExceeded", err)
	}
}

// TestSecretErrorSource: a secret that cannot be read is an *Error that
// says which kind of source failed (Source) and which secret it was
// (Secret), so that a program can name its own setting; a SecretRef's
// Name is how its messages name the source.
func TestSecretErrorSource(t *testing.T) {
	dir := testdir.New(t)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	c := &Connector{Getenv: func(string) string { return "" }}
	a := &Account{Timeout: 10 * time.Second}
	tests := []struct {
		name        string
		ref         SecretRef
		field       string
		msg, notMsg string
	}{
		{"env", SecretRef{Source: SecretEnv, Ref: "NOPE"}, "secret", "NOPE is empty", "(from"},
		{"env named", SecretRef{Source: SecretEnv, Ref: "NOPE", Name: "SMTP_PASS_VAR"}, "secret", "NOPE (from SMTP_PASS_VAR) is empty", ""},
		{"file missing", SecretRef{Source: SecretFile, Ref: empty + ".nope"}, "secret_file", "cannot open the password file", ""},
		{"file empty, named", SecretRef{Source: SecretFile, Ref: empty, Name: "the key file setting"}, "secret", "from the key file setting " + empty + " is empty", ""},
		{"command fails, named", SecretRef{Source: SecretCommand, Ref: "exit 3", Name: "mail_pw_cmd"}, "secret_command", "the mail_pw_cmd command failed", ""},
	}
	for _, tc := range tests {
		_, err := c.Secret(context.Background(), a, tc.ref)
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%s: %v, want an *Error", tc.name, err)
			continue
		}
		if se.Field != tc.field || se.Source != tc.ref.Source || se.Secret != SecretPassword {
			t.Errorf("%s: Field %q, Source %q, Secret %q; want %q, %q, %q", tc.name, se.Field, se.Source, se.Secret, tc.field, tc.ref.Source, SecretPassword)
		}
		if !strings.Contains(se.Msg, tc.msg) || tc.notMsg != "" && strings.Contains(se.Msg, tc.notMsg) {
			t.Errorf("%s: message %q, want %q in it and not %q", tc.name, se.Msg, tc.msg, tc.notMsg)
		}
	}
}
