//go:build unix

package submit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecretFirstLineTooLong: a password file or command whose first line
// is longer than 64 KiB used to give its first 64 KiB as the password,
// silently; it is an *Error now that says so and holds nothing of the
// line. A first line of exactly 64 KiB is still the secret.
func TestSecretFirstLineTooLong(t *testing.T) {
	dir := t.TempDir()
	exact := strings.Repeat("p", maxSecretBytes)
	long := strings.Repeat("q", maxSecretBytes) + "TAIL"
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exactFile := write("exact", exact+"\nsecond\n")
	exactNoEOL := write("exact-no-eol", exact)
	exactCRLF := write("exact-crlf", exact+"\r\n")
	longFile := write("long", long+"\n")
	longNoEOL := write("long-no-eol", long)
	// The commands print the content of a file (no shell quoting of 64 KiB).
	c := &Connector{}
	a := &Account{Timeout: 20 * time.Second}
	for _, tc := range []struct {
		name  string
		ref   SecretRef
		want  string // the secret, or "" for an error
		field string
	}{
		{"file 64 KiB", SecretRef{Source: SecretFile, Ref: exactFile}, exact, ""},
		{"file 64 KiB, no line ending", SecretRef{Source: SecretFile, Ref: exactNoEOL}, exact, ""},
		{"file 64 KiB, CRLF", SecretRef{Source: SecretFile, Ref: exactCRLF}, exact, ""},
		{"file longer", SecretRef{Source: SecretFile, Ref: longFile}, "", "secret_file"},
		{"file longer, no line ending", SecretRef{Source: SecretFile, Ref: longNoEOL}, "", "secret_file"},
		{"command 64 KiB", SecretRef{Source: SecretCommand, Ref: "cat " + exactFile}, exact, ""},
		{"command 64 KiB, no line ending", SecretRef{Source: SecretCommand, Ref: "cat " + exactNoEOL}, exact, ""},
		{"command longer", SecretRef{Source: SecretCommand, Ref: "cat " + longFile}, "", "secret_command"},
		{"command longer, no line ending", SecretRef{Source: SecretCommand, Ref: "cat " + longNoEOL}, "", "secret_command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Secret(context.Background(), a, tc.ref)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Errorf("Secret = %d bytes, %v; want the %d-byte line", len(got), err, len(tc.want))
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Msg, "longer than 64 KiB") || se.Fix == "" {
				t.Fatalf("Secret = %d bytes, %v; want an *Error of Field %s saying the line is too long", len(got), err, tc.field)
			}
			if strings.Contains(err.Error(), "qqqq") || strings.Contains(se.Fix, "qqqq") {
				t.Errorf("the error holds part of the line: %.200s", err)
			}
		})
	}
}
