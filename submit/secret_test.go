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
		{"env", SecretRef{SecretEnv, "PW"}, ""},
		{"env unset", SecretRef{SecretEnv, "NOPE"}, "NOPE is empty or not set"},
		{"file", SecretRef{SecretFile, file}, ""},
		{"file missing", SecretRef{SecretFile, file + ".nope"}, "cannot open the password file"},
		{"command", SecretRef{SecretCommand, "echo " + secret}, ""},
		{"command fails", SecretRef{SecretCommand, "exit 3"}, "the password command failed"},
		{"config passwordeval", SecretRef{SecretConfig, "a"}, ""},
		{"config password", SecretRef{SecretConfig, "b"}, ""},
		{"config no such account", SecretRef{SecretConfig, "c"}, "c"},
		{"unknown source", SecretRef{"vault", "x"}, "names no password source"},
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
		_, err := c.Secret(context.Background(), a, SecretRef{SecretFile, open})
		var se *Error
		if !errors.As(err, &se) || se.Field != "secret_file_mode" {
			t.Errorf("a password file others may read: %v, want an *Error of Field secret_file_mode", err)
		}
	}
	if runtime.GOOS == "windows" {
		return // no sleep command in cmd.exe
	}
	_, err := RunSecretCommand(context.Background(), "sleep 5", 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a command that outlives its timeout: %v, want context.DeadlineExceeded", err)
	}
}
