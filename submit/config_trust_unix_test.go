//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package submit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/config"
	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestConfigSecretFileTrust: a configuration file read again at delivery
// (SecretConfig) runs its passwordeval (and eval) commands, so it gets the
// outbox's rule for its own files: it must belong to the user running the
// delivery (or to root) and be writable by no one else; otherwise nothing
// in it is run and the error says why. A file of the user's, mode 0644,
// is used.
func TestConfigSecretFileTrust(t *testing.T) {
	dir := testdir.New(t)
	marker := filepath.Join(dir, "ran")
	body := []byte("account a\nhost h\nauth on\nuser u\npasswordeval touch " + marker + "; echo pw\n")
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		file  string
		field string // "" means the password is read
	}{
		{"mine, 0644", write("ok", 0o644), ""},
		{"group-writable", write("group", 0o664), "config_file_mode"},
		{"world-writable", write("world", 0o646), "config_file_mode"},
	}
	if os.Geteuid() == 0 {
		other := write("other", 0o644)
		if err := os.Chown(other, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name  string
			file  string
			field string
		}{"another user's", other, "config_file_owner"})
	}
	for _, tc := range cases {
		os.Remove(marker)
		a := &Account{ConfigFile: tc.file, Timeout: 10 * time.Second}
		pw, err := (&Connector{}).Secret(context.Background(), a, SecretRef{Source: SecretConfig, Ref: "a"})
		_, statErr := os.Stat(marker)
		ran := statErr == nil
		if tc.field == "" {
			if err != nil || pw != "pw" || !ran {
				t.Errorf("%s: Secret = %q, %v (command ran: %v); want the password", tc.name, pw, err, ran)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Field != tc.field || e.Fix == "" {
			t.Errorf("%s: Secret = %q, %v; want an *Error of field %s with a fix", tc.name, pw, err, tc.field)
		}
		// The reason and the fix are config.Load's for the same file:
		// one rule, one wording.
		fi, _ := os.Stat(tc.file)
		if e != nil && (!strings.Contains(e.Msg, config.Untrusted(fi)) || e.Fix != config.UntrustedFix(tc.file)) {
			t.Errorf("%s: %q (fix %q); want config's reason %q and fix %q", tc.name, e.Msg, e.Fix, config.Untrusted(fi), config.UntrustedFix(tc.file))
		}
		if ran {
			t.Errorf("%s: the file's passwordeval ran", tc.name)
		}
	}
}
